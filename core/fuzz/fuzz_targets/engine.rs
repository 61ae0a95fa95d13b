//! The whole document pass on hostile bytes: `clean_document` (parse, collect, visibility, judge,
//! policy, rewrite, re-parse rounds) and `clean_text`, with a small but real rule set, in every
//! mode, with link cleaning on and off, the text and HTML parts of one "message" sharing their
//! `LinkPlans` as `py_engine` does.
//!
//! Oracles (a failed assert is a crash libFuzzer reports):
//! - no panic (nothing may reach Python);
//! - the link decisions shared with the text part change nothing: the HTML cleaned with plans
//!   already filled by `clean_text` equals the HTML cleaned with fresh plans;
//! - what the first pass removed stays removed: cleaning the output again (same mode, fresh plans)
//!   removes, replaces or proxies nothing in `Mode::All` and `Mode::Proxy` (there every network
//!   load is removed, replaced by a placeholder that keeps its URL only in `data-tb-src`, or
//!   proxied through a URL the second pass recognises as ours), for every kind: loads, scripts,
//!   frames, meta refreshes. In `Mode::Trackers` a second pass may remove only what the first
//!   legitimately kept for reasons of the document around it: a verdict that rests on how an image
//!   is drawn or used (tiny/thin/hidden size signals, or a whole-host rule excused by
//!   `same_for_everyone`), which removing other elements can change (a spacer used three times
//!   loses a copy, the visible copy of a URL goes). Links (`cleaned`, `unwrapped`, `left-marked`)
//!   are not loads and are not held to this: unwrapping is bounded at five wrappers.
//!
//!     cd core/fuzz && cargo +nightly fuzz run engine corpus/engine seeds/engine ../../tests/vectors -- -max_len=8192
//!
//! Seeds: `seeds/engine/message.html` exercises this rule set (pixels, redirects, parameters, the
//! recipient, a proxied URL, VML); `tests/vectors/` holds the load techniques and earlier findings;
//! `benchmarks/gen.py html DIR -n 5` gives realistic newsletters (cut them into 8 KB pieces).
#![no_main]
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use _core::detect::Detector;
use _core::engine::clean::{clean_document, clean_text, LinkPlans, Proxy, Settings};
use _core::engine::finding::Finding;
use _core::engine::policy::Mode;
use _core::engine::signing::KeyRing;
use _core::filterlist::{FilterIndex, ListInput};
use _core::heuristics::Identity;
use _core::psl::Psl;
use _core::rules::{Judge, JudgeInput, ParamInput, RedirectInput, VendorInput};
use libfuzzer_sys::fuzz_target;

const SENDER: &str = "news.shop.example.com";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn vendor(id: &str, category: &str, open: &[&str], click: &[&str], content: &[&str], domains: &[&str],
          tracking_hosts: &[&str]) -> VendorInput {
    VendorInput { id: id.into(), name: format!("{id} Inc."), category: category.into(), open: strings(open),
                  click: strings(click), content: strings(content), domains: strings(domains),
                  tracking_hosts: strings(tracking_hosts) }
}

fn redirect(id: &str, domains: &[&str], matcher: &str, param: &str, extract: Option<&str>, decode: &str) -> RedirectInput {
    RedirectInput { id: id.into(), domains: strings(domains), matcher: matcher.into(), param: param.into(),
                    extract: extract.map(str::to_owned), decode: decode.into() }
}

fn param(name: Option<&str>, pattern: Option<&str>, hosts: &[&str], keep_if_url: Option<&str>) -> ParamInput {
    ParamInput { name: name.map(str::to_owned), pattern: pattern.map(str::to_owned), hosts: strings(hosts),
                 keep_if_url: keep_if_url.map(str::to_owned) }
}

/// Filter lines in the shapes of the shipped lists (tracker_block/ruledata/*.txt).
const EMAIL_TRACKERS: &str = "! email trackers (links = true)\n/ls/click?upn=\n/e3t/Ctc/*\n-track-email-open?\n\
.awstrack.me/$image\n%2Fo.gif&\n/a/click?_t=\n";
const SERVERS: &str = "! tracking servers\n||pixel.wp.com^$image\n/piwik.php?*&rec=1^\n/matomo.php?idsite=$image\n\
||stats.example.net^\n||beacon.example.org^$image,stylesheet,font\n@@||beacon.example.org/logo.png\n/pixel^\n";

/// A short public-suffix list (tldextract's format, private section excluded as it does).
const SUFFIXES: &str = "// ===BEGIN ICANN DOMAINS===\ncom\nnet\norg\nio\nme\njp\nde\nuk\nco.uk\nlu\nexample\ntest\n\
*.ck\n!www.ck\n// ===BEGIN PRIVATE DOMAINS===\nblogspot.com\n";

/// The rules (a few vendors, redirects, parameters, two filter lists) and one recipient, built once.
fn rules() -> &'static (Arc<Judge>, Arc<Identity>) {
    static RULES: OnceLock<(Arc<Judge>, Arc<Identity>)> = OnceLock::new();
    RULES.get_or_init(|| {
        let filters = FilterIndex::build(&[
            ListInput { file: "email.txt".into(), text: EMAIL_TRACKERS.into(), label: "easyprivacy".into(), links: true },
            ListInput { file: "servers.txt".into(), text: SERVERS.into(), label: "tracker-block".into(), links: false },
        ]);
        let input = JudgeInput {
            vendors: vec![
                vendor("mailchimp", "email-service-provider",
                       &[r"^([a-z0-9-]+\.)*list-manage\.com/track/open\.php", r"^([a-z0-9-]+\.)*list-manage[0-9]*\.com/e/o/"],
                       &[r"^([a-z0-9-]+\.)*list-manage[0-9]*\.com/track/click"],
                       &[r"^gallery\.mailchimp\.com/", r"^mcusercontent\.com/",
                         r"^([a-z0-9-]+\.)*list-manage\.com/(subscribe|unsubscribe|profile|vcard)"],
                       &["list-manage.com", "mailchimp.com", "mcusercontent.com"], &[]),
                vendor("sendgrid", "email-service-provider",
                       &[r"^([a-z0-9-]+\.)*sendgrid\.(net|com)/wf/open", r"^([a-z0-9-]+\.)*sendgrid\.(net|com)/trk"],
                       &[r"^([a-z0-9-]+\.)*sendgrid\.net/.*/click", r"^([a-z0-9-]+\.)*sendgrid\.net/ls/click\?"],
                       &[], &["sendgrid.net", "sendgrid.com"], &[]),
                vendor("acxiom", "advertising", &[], &[], &[], &["rlcdn.com", "pippio.com"], &["rlcdn.com", "pippio.com"]),
                vendor("adobe", "marketing-automation", &[r"^([a-z0-9-]+\.)*postoffice\.adobe\.com/po-server/link/open"],
                       &[], &[], &["demdex.net", "adobe.com", "adobesystems.com"], &["demdex.net", "t.info.adobesystems.com"]),
                vendor("activecampaign", "marketing-automation", &[r"^([a-z0-9-]+\.)*activehosted\.com/lt\.php\?.*l=open"],
                       &[r"^([a-z0-9-]+\.)*acemln[a-d]\.com/Prod/link-tracker\?"], &[],
                       &["acemlna.com", "acemlnb.com", "activehosted.com"], &[]),
                vendor("shop", "retail", &[r"^t\.shop\.example\.com/o/"], &[r"^click\.shop\.example\.com/"],
                       &[r"^img\.shop\.example\.com/"], &["shop.example.com"], &["t.shop.example.com"]),
            ],
            redirects: vec![
                redirect("google-url", &["google.com"], r"^(www\.)?google\.[a-z.]+/url\?", "q", None, ""),
                redirect("safelinks", &["safelinks.protection.outlook.com"],
                         r"^([a-z0-9-]+\.)*safelinks\.protection\.outlook\.com/\?", "url", None, ""),
                redirect("proofpoint-v2", &["urldefense.proofpoint.com"], r"^urldefense\.proofpoint\.com/v2/url\?", "u",
                         None, "proofpoint-v2"),
                redirect("proofpoint-v3", &["urldefense.com"], r"^urldefense\.com/v3/__", "",
                         Some(r"^urldefense\.com/v3/__(.+?)__;"), "proofpoint-v3"),
                redirect("amazon-ses", &["awstrack.me"], r"^([a-z0-9-]+\.)*awstrack\.me/L0/", "",
                         Some(r"awstrack\.me/L0/([^/]+)/"), "awstrack"),
                redirect("customer-io", &["customeriomail.com", "*"], r"^[a-z0-9.-]+/e/c/eyJ[A-Za-z0-9_=-]{20,}/[0-9a-f]+(?:[?#]|$)",
                         "", Some(r"/e/c/(eyJ[A-Za-z0-9_=-]+)/"), "base64-json-href"),
                redirect("mailjet", &["mjt.lu"], r"^([a-z0-9-]+\.)*mjt\.lu/lnk/.*/aHR0c", "",
                         Some(r"/(aHR0c[A-Za-z0-9_-]*=*)(?:[/?#]|$)"), "base64url"),
                redirect("linkedin-comm", &["linkedin.com"], r"^(www\.)?linkedin\.com/comm/.", "",
                         Some(r"^((?:www\.)?linkedin\.com/)comm/(.+)$"), "https-join"),
            ],
            params: vec![
                param(None, Some("utm_[a-z_]+"), &[], None),
                param(None, Some("mtm(?:_[a-z_]*)?"), &[], Some(r"^https?://(?:[a-z0-9-]+\.)*?github\.com")),
                param(Some("fbclid"), None, &[], None),
                param(Some("mc_eid"), None, &[], None),
                param(Some("_ga"), None, &[], Some(r"^https?://(?:[a-z0-9-]+\.)*?irs\.gov")),
                param(Some("trk"), None, &["linkedin.com"], None),
                param(None, Some("mid(?:token|sig)"), &["linkedin.com"], None),
            ],
            exempt_hosts: strings(&["urldefense.com"]),
            generic_open: strings(&[r"/lt\.php\?", r"/open/log/", r"aws-track-email-open", r"/smtp\.mailopen",
                                    r"^email\.[a-z0-9.-]+/o/[a-z0-9_.-]{64}"]),
            spacer: strings(&[r"spacer[^/]*\.(gif|png)(\?|$)", r"transparent\.gif"]),
        };
        let judge = Judge::build(input, Arc::new(filters), Arc::new(Psl::from_text(SUFFIXES)));
        assert!(judge.problems().is_empty(), "{:?}", judge.problems());
        // jane.doe@example.org in the forms tracker_block/engine/heuristics.py builds (longest first)
        let folded = [
            ("e60e6bcd51c48461008dd4d3ca9944ca3997a899652a01f2640f9625c785a8acf49775a987bba6b01cfcb9d92d5853d78ace301bfc479357ca4cbfa3a18b36ec", "sha512"),
            ("7f73355bf032dcbb8e5a3f51f1e4a8ba92ef1344de2d95382634cf91da6d6181", "sha256"),
            ("395059822cad73bf29f93d7f70738e7b72b79cfb", "sha1"),
            ("b49be4c6d5b60918bf27d1189d8f326d", "md5"),
            ("jane.doe%40example.org", "url-encoded"),
            ("jane.doe@example.org", "plain"),
        ];
        let exact = ["bmUuZG9lQGV4YW1wbGUub3Jn", "amFuZS5kb2VAZXhhbXBsZS5v", "YW5lLmRvZUBleGFtcGxlLm9y"];
        let identity = Identity::new(folded.iter().map(|(n, k)| (n.to_string(), k.to_string())).collect(),
                                     exact.iter().map(|n| (n.to_string(), "base64".to_string())).collect());
        (Arc::new(judge), Arc::new(identity))
    })
}

fn proxy() -> &'static Proxy {
    static PROXY: OnceLock<Proxy> = OnceLock::new();
    PROXY.get_or_init(|| Proxy {
        base: "https://proxy.test/img/".into(),
        keys: KeyRing { keys: vec![("k2".into(), b"current secret".to_vec()), ("k1".into(), b"older".to_vec())] },
        ttl: Some(86_400),
        now: 1_760_000_000,
    })
}

/// One "message": its text part, then its HTML part, sharing link decisions. (html, findings).
fn message(text: &str, mode: Mode, clean_links: bool, plans: LinkPlans) -> (String, Vec<Finding>, String) {
    let (judge, identity) = rules();
    let unsubscribe = strings(&["https://list-manage.com/unsubscribe?u=1&utm_source=x", "mailto:leave@shop.example.com"]);
    let known = RefCell::new(plans);
    let text_settings = Settings { mode: Mode::Trackers, clean_links, proxy: None, unsubscribe: &unsubscribe, plans: &known };
    let (plain, _) = clean_text(text, &text_settings, Detector::new(judge.clone(), identity.clone(), None));
    let proxy = (mode == Mode::Proxy).then(proxy);
    let settings = Settings { mode, clean_links, proxy, unsubscribe: &unsubscribe, plans: &known };
    let detector = || Detector::new(judge.clone(), identity.clone(), Some(SENDER));
    let (html, findings) = clean_document(text, &settings, &detector);
    (html, findings, plain)
}

/// Does a second pass's finding show a load (or script) the first pass should have removed?
fn escaped(f: &Finding, mode: Mode) -> bool {
    if !matches!(f.action, "removed" | "replaced" | "proxied") {
        return false; // links: cleaned, unwrapped, left-marked
    }
    if mode != Mode::Trackers {
        return true;
    }
    // Trackers: only a verdict that rests on the document around the load may change.
    let drawn = f.reason.starts_with("heuristic:")
        && ["tiny-image", "thin-image", "hidden-image"].iter().any(|s| f.reason.contains(s));
    !(drawn || (f.certainty == "rule" && f.reason.ends_with("/host")))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for mode in [Mode::Trackers, Mode::All, Mode::Proxy] {
        for clean_links in [false, true] {
            let (html, findings, _) = message(&text, mode, clean_links, LinkPlans::default());
            if clean_links && mode == Mode::All {
                let (judge, identity) = rules();
                let unsubscribe = strings(&["https://list-manage.com/unsubscribe?u=1&utm_source=x",
                                            "mailto:leave@shop.example.com"]);
                let fresh = RefCell::new(LinkPlans::default());
                let settings = Settings { mode, clean_links, proxy: None, unsubscribe: &unsubscribe, plans: &fresh };
                let detector = || Detector::new(judge.clone(), identity.clone(), Some(SENDER));
                let (alone, alone_findings) = clean_document(&text, &settings, &detector);
                assert_eq!(alone, html, "link plans shared with the text part changed the HTML");
                assert_eq!(alone_findings, findings, "link plans shared with the text part changed the findings");
            }
            let (_, again, _) = message(&html, mode, clean_links, LinkPlans::default());
            let leaks: Vec<&Finding> = again.iter().filter(|f| escaped(f, mode)).collect();
            assert!(leaks.is_empty(), "{mode:?} clean_links={clean_links}: a second pass still finds {leaks:#?}\n\
                                       input {text:?}\nfirst pass {html:?}\nfirst findings {findings:#?}");
        }
    }
});
