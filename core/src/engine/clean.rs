//! One document's pass, the port of `engine.py`'s `_Cleaner`: every site found by `html::collect`
//! is decided (judge, policy) and rewritten; findings say what was done. No Python object is made
//! per site or per URL: Python receives the cleaned text and the findings.
use std::cell::RefCell;
use rustc_hash::FxHashMap;
use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, MatchKind};

use regex::Regex;

use super::finding::Finding;
use super::markup;
use super::policy::{css_is_visible_image, is_visible_image, load_action, LoadAction, Mode, COMMENT_NON_IMAGE_TAGS};
use super::signing::KeyRing;
use crate::css::{self, Judged, ValueOutcome};
use crate::dataurl;
use crate::detect::{Detector, Verdict};
use crate::html::{self, Document, Op, Site, Exceeded};
use crate::heuristics::size_signal;
use crate::urls::{absolute, canonical, clean_link_from, is_remote, normalise, parts, scheme_of, REMOTE_SCHEMES};

/// Schemes that fetch over the network (`//host` is protocol-relative).
pub fn is_network(scheme: &str) -> bool {
    scheme == "//" || REMOTE_SCHEMES.contains(&scheme)
}

/// Schemes that run script.
fn is_script(scheme: &str) -> bool {
    matches!(scheme, "javascript" | "vbscript" | "livescript" | "mocha" | "jscript")
}

/// Words that mark an unsubscribe / preferences link (cleaned conservatively), in several languages.
const UNSUBSCRIBE_HINTS: &[&str] = &[
    "unsub", "opt-out", "optout", "opt out", "opt_out", "preferences", "subscription", "abmelden", "abbestellen",
    "désabonner", "desabonner", "desinscri", "darse de baja", "afmelden", "avregistrera", "disiscriv",
    "cancelar suscripci",
];

/// The hints in one pass over the lowercased text (a `contains` per hint cost 17 scans of every link).
static UNSUBSCRIBE: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(UNSUBSCRIBE_HINTS).expect("fixed literals"));

pub fn is_unsubscribe(text: &str) -> bool {
    UNSUBSCRIBE.is_match(&text.to_lowercase())
}

/// The proxy a `Mode::Proxy` run rewrites images through.
pub struct Proxy {
    pub base: String,
    pub keys: KeyRing,
    pub ttl: Option<u64>,
    pub now: u64,
}

/// How to clean (the part of Python's `Options` the document pass needs).
pub struct Settings<'a> {
    pub mode: Mode,
    pub clean_links: bool,
    pub proxy: Option<&'a Proxy>,
    pub unsubscribe: &'a [String],
    /// Decisions on links already seen with these settings: the parts of one message (the text and
    /// the HTML alternative carry the same links) and the re-parse rounds of one document share them.
    pub plans: &'a RefCell<LinkPlans>,
}

/// One link's decision, independent of where it is, by link, then by whether its text reads as
/// unsubscribe (`[no, yes]`; looked up by `&str`, shared, not copied).
pub type LinkPlans = FxHashMap<String, [Option<Arc<LinkPlan>>; 2]>;

/// One link's decision, independent of where it is (cached per distinct link, see `LinkPlans`).
pub struct LinkPlan {
    new: Option<String>,
    findings: Vec<PlannedFinding>,
    asks_text: bool,
}

#[derive(Clone)]
struct PlannedFinding {
    kind: &'static str,
    url: Option<String>, // None: the link as written
    action: &'static str,
    reason: String,
    tracker: Option<String>,
    certainty: String,
    detail: Option<String>,
}

pub struct Cleaner<'a> {
    s: &'a Settings<'a>,
    det: Detector,
    pub findings: Vec<Finding>,
}

/// The reason a CSS URL goes only with the declaration or rule holding it (`Cleaner::went_with`).
const WENT_WITH_CSS: &str = "policy:went-with-css";
const WENT_WITH_DETAIL: &str = "the CSS declaration or rule holding it was removed";
const FILE_SCHEMES: &[&str] = &["file", "smb", "afp", "nfs", "webdav"];

fn truncated(raw: &str) -> String {
    if raw.chars().count() <= 300 {
        raw.to_owned()
    } else {
        let mut s: String = raw.chars().take(300).collect();
        s.push('…');
        s
    }
}

impl<'a> Cleaner<'a> {
    pub fn new(s: &'a Settings<'a>, det: Detector) -> Cleaner<'a> {
        Cleaner { s, det, findings: Vec::new() }
    }

    #[allow(clippy::too_many_arguments)]
    fn find(&mut self, kind: &str, url: Option<&str>, where_: &str, action: &'static str, reason: &str,
            tracker: Option<&str>, certainty: &str, detail: Option<String>) {
        self.findings.push(Finding {
            kind: kind.to_owned(),
            url: url.map(str::to_owned),
            where_: where_.to_owned(),
            action,
            reason: reason.to_owned(),
            tracker: tracker.map(str::to_owned),
            certainty: certainty.to_owned(),
            detail,
        });
    }

    fn verdict_finding(&mut self, kind: &str, url: Option<&str>, where_: &str, action: &'static str,
                       v: Option<&Verdict>, policy_reason: Option<&str>) {
        match v {
            Some(v) if v.tracker => {
                let kind = if kind == "image" && v.use_ == "open" { "pixel" } else { kind };
                self.find(kind, url, where_, action, &v.reason, v.company.as_deref(), v.certainty, None);
            }
            _ => self.find(kind, url, where_, action, policy_reason.unwrap_or("policy"), None, "policy", None),
        }
    }

    /// (action, new URL) for one URL that loads automatically. `image`: it loads a visible image.
    #[allow(clippy::too_many_arguments)]
    pub fn judge_load(&mut self, raw: &str, kind: &str, where_: &str, width: Option<f64>, height: Option<f64>,
                      hidden: bool, placeholder_ok: bool, image: bool) -> (LoadAction, Option<String>) {
        let url = normalise(raw);
        let scheme = scheme_of(&url);
        if is_script(&scheme) {
            self.find("script", Some(raw), where_, "removed", "policy:script-url", None, "policy", None);
            return (LoadAction::Remove, None);
        }
        if scheme == "data" {
            return match dataurl::unsafe_reason(&url) {
                None => (LoadAction::Keep, None),
                Some(why) => {
                    self.find("script", Some(&truncated(raw)), where_, "removed", why, None, "policy", None);
                    (LoadAction::Remove, None)
                }
            };
        }
        if FILE_SCHEMES.contains(&&*scheme) {
            // file://host/share makes Windows clients open an SMB connection (and send credentials).
            self.find(kind, Some(raw), where_, "removed", "policy:no-network-file-url", None, "policy", None);
            return (LoadAction::Remove, None);
        }
        if !is_network(&scheme) {
            return (LoadAction::Keep, None);
        }
        if let (Mode::Proxy, Some(p)) = (self.s.mode, self.s.proxy) {
            if p.keys.target_of(&url, &p.base, p.now).is_some() {
                return (LoadAction::Keep, None); // already ours (a re-parse round, a forwarded cleaned message)
            }
        }
        let v = self.det.load(&url, width, height, hidden);
        let tracker = v.as_ref().is_some_and(|v| v.tracker);
        let (action, why) = load_action(kind, tracker, self.s.mode, placeholder_ok, image);
        match action {
            LoadAction::Keep => (LoadAction::Keep, None),
            LoadAction::Proxy => {
                let p = self.s.proxy.expect("mode proxy has a proxy");
                match canonical(&url) {
                    Err(_) => {
                        // a URL no proxy could fetch (bad port, broken IPv6 literal): it goes
                        self.find(kind, Some(raw), where_, "removed", "policy:unparseable-url", None, "policy", None);
                        (LoadAction::Remove, None)
                    }
                    Ok(target) => {
                        let new = p.keys.sign(&target, &p.base, p.ttl, p.now);
                        self.find(kind, Some(raw), where_, "proxied", why.unwrap_or("policy:proxy"), None, "policy",
                                  Some(new.clone()));
                        (LoadAction::Proxy, Some(new))
                    }
                }
            }
            _ => {
                let done = if action == LoadAction::Placeholder { "replaced" } else { "removed" };
                self.verdict_finding(kind, Some(raw), where_, done, v.as_ref(), why);
                (action, None)
            }
        }
    }

    /// The judge handed to the CSS cleaner for one site.
    fn css_judge(&mut self, url: &str, kind: &str, where_: &str, base_kind: &str, prefix: &str) -> Judged {
        let at = format!("{prefix}{where_}");
        if kind == "script" {
            // expression(), behavior, -moz-binding: `url` is the declaration's value
            self.find("script", None, &at, "removed", "policy:css-script", None, "policy", Some(url.to_owned()));
            return Judged::Remove;
        }
        if kind == css::UNREADABLE {
            // CSS that cannot be read safely: `url` says what it was
            let at = at.trim_end_matches(':');
            self.find("css", None, at, "removed", "policy:unreadable-css", None, "policy", Some(url.to_owned()));
            return Judged::Remove;
        }
        let (kind, went) = match css::went_with(kind) {
            Some((own, proxied)) => (own, Some(proxied)),
            None => (kind, None),
        };
        let image = kind == "css" && css_is_visible_image(where_);
        let k = if kind != "css" { kind } else if image { base_kind } else { "css" };
        if let Some(proxied) = went {
            self.went_with(url, k, &at, image, proxied);
            return Judged::Remove;
        }
        match self.judge_load(url, k, &at, None, None, false, false, image) {
            (LoadAction::Keep, _) => Judged::Keep,
            (LoadAction::Proxy, Some(new)) => Judged::Replace(new),
            _ => Judged::Remove,
        }
    }

    /// A URL in CSS that goes because the declaration, prelude or rule holding it goes: reported as
    /// removed, for its own reason when it would have gone by itself, else as `policy:went-with-css`.
    /// `proxied`: it was already reported proxied, a rewrite that now never appears.
    fn went_with(&mut self, raw: &str, kind: &str, at: &str, image: bool, proxied: bool) {
        if proxied {
            let was = self.findings.iter_mut().rev().find(|f| f.action == "proxied" && f.where_ == at && f.url.as_deref() == Some(raw));
            if let Some(f) = was {
                (f.action, f.reason, f.detail) = ("removed", WENT_WITH_CSS.to_owned(), Some(WENT_WITH_DETAIL.to_owned()));
                return;
            }
        }
        let before = self.findings.len();
        if self.judge_load(raw, kind, at, None, None, false, false, image).0 == LoadAction::Remove {
            return; // reported for its own reason
        }
        self.findings.truncate(before); // kept or proxied alone, it goes all the same
        self.find(kind, Some(&truncated(raw)), at, "removed", WENT_WITH_CSS, None, "policy", Some(WENT_WITH_DETAIL.to_owned()));
    }

    // ------------------------------------------------------------------ links
    fn plan_link(&self, url: &str, text_unsubscribes: bool) -> LinkPlan {
        let scheme = scheme_of(url);
        if is_script(&scheme) || scheme == "data" {
            return LinkPlan {
                new: Some(String::new()),
                findings: vec![PlannedFinding {
                    kind: "script", url: None, action: "removed", reason: "policy:script-url".into(),
                    tracker: None, certainty: "policy".into(), detail: None,
                }],
                asks_text: false,
            };
        }
        if !is_network(&scheme) {
            return LinkPlan { new: None, findings: vec![], asks_text: false };
        }
        let mut new = url.to_owned();
        let mut cleaned = false;
        let mut asked = false;
        let mut unwrapped_by = None;
        let mut stripped: Vec<String> = vec![];
        let p = parts(url); // read once: the cleaner and the judge both look at them
        if self.s.clean_links {
            let explicit = absolute(url);
            let unsub = self.s.unsubscribe;
            let conservative = |dest: &str| -> bool {
                if unsub.iter().any(|u| u == url || u == dest) || is_unsubscribe(dest) {
                    return true;
                }
                asked = true; // the answer depends on the link's text
                text_unsubscribes
            };
            // `parts` reads a URL made absolute, so `p` are the explicit form's parts too.
            let res = clean_link_from(if scheme == "//" { &explicit } else { url }, &p, &self.det.judge, conservative);
            if res.url != url && res.url != explicit {
                new = res.url;
                cleaned = true;
                unwrapped_by = res.unwrapped_by;
                stripped = res.stripped;
            }
        }
        let mut findings = vec![];
        let mut v = self.det.link_with(url, &p); // judged as written: that is what tells the sender
        if cleaned {
            let company = v.as_ref().and_then(|v| v.company.clone());
            if let Some(by) = unwrapped_by {
                findings.push(PlannedFinding {
                    kind: "link", url: None, action: "unwrapped", reason: format!("rule:{by}"), tracker: company,
                    certainty: "rule".into(), detail: Some(new.clone()),
                });
            } else {
                findings.push(PlannedFinding {
                    kind: "link", url: None, action: "cleaned", reason: "rule:tracking-params".into(),
                    tracker: company, certainty: "rule".into(),
                    detail: Some(format!("{new}  (removed: {})", stripped.join(", "))),
                });
            }
            if v.is_some() {
                v = self.det.link(&new); // what is left after cleaning
            }
        }
        if let Some(v) = v {
            let detail = if v.reason.starts_with("heuristic:recipient") {
                "this link tells the sender it was you"
            } else {
                "click tracking: the destination cannot be recovered without following it"
            };
            findings.push(PlannedFinding {
                kind: "link", url: if cleaned { Some(new.clone()) } else { None }, action: "left-marked",
                reason: v.reason, tracker: v.company, certainty: v.certainty.to_owned(), detail: Some(detail.into()),
            });
        }
        LinkPlan { new: if new == url { None } else { Some(new) }, findings, asks_text: asked }
    }

    /// The cleaned link, or None to keep it as written; records findings. `text` gives the link's
    /// text, read only when parameters would be stripped (to tell an unsubscribe link).
    /// `unsubscribes`: whether the link's text (or, in a text part, the words before it on its
    /// line) says unsubscribe; asked only when the decision depends on it.
    pub fn clean_link(&mut self, raw: &str, where_: &str, unsubscribes: &mut dyn FnMut() -> bool) -> Option<String> {
        let url = normalise(raw);
        let mut plan = self.cached_plan(&url, false);
        if plan.asks_text && unsubscribes() {
            plan = self.cached_plan(&url, true);
        }
        let plan = &*plan;
        for f in &plan.findings {
            self.findings.push(Finding {
                kind: f.kind.to_owned(),
                url: Some(f.url.clone().unwrap_or_else(|| raw.to_owned())),
                where_: where_.to_owned(),
                action: f.action,
                reason: f.reason.clone(),
                tracker: f.tracker.clone(),
                certainty: f.certainty.clone(),
                detail: f.detail.clone(),
            });
        }
        plan.new.clone()
    }

    fn cached_plan(&mut self, url: &str, text_unsubscribes: bool) -> Arc<LinkPlan> {
        let slot = usize::from(text_unsubscribes);
        if let Some(p) = self.s.plans.borrow().get(url).and_then(|pair| pair[slot].clone()) {
            return p;
        }
        let p = Arc::new(self.plan_link(url, text_unsubscribes));
        self.s.plans.borrow_mut().entry(url.to_owned()).or_default()[slot] = Some(p.clone());
        p
    }
}

/// The tag of a site's element as the collector names it ("" for comments and text).
fn tag_of(doc: &Document, s: &Site) -> String {
    doc.element(s.node).map(|e| e.name.local.to_string()).unwrap_or_default()
}

/// Does this attribute site load an image the reader sees? (A `<source>` only inside `<picture>`.)
fn site_is_image(doc: &Document, s: &Site) -> bool {
    let tag = tag_of(doc, s);
    is_visible_image(&tag, s.attr.as_deref().unwrap_or("")) && (tag != "source" || s.kind == "image")
}

static TAG_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^<\s*([\w:-]+)").unwrap());
static HREF_BEFORE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"href\s*=\s*["']?$"#).unwrap());
static SIZE_ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(width|height|style)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#).unwrap()
});
const LINK_TAGS: &[&str] = &["a", "area"];
const VML_LINK_SHAPES: &[&str] =
    &["v:shape", "v:rect", "v:roundrect", "v:oval", "v:line", "v:polyline", "v:arc", "v:curve", "v:group"];

/// Size of the image tag starting at `start` in comment markup (VML `v:image`, `<img>` for Outlook).
fn markup_size(text: &str, start: usize) -> (Option<f64>, Option<f64>) {
    let end = text[start..].find('>').map_or(text.len(), |e| start + e);
    let mut attrs: Vec<(String, String)> = vec![];
    for c in SIZE_ATTR.captures_iter(&text[start..end]) {
        let name = c[1].to_lowercase();
        let value = c.get(2).or(c.get(3)).or(c.get(4)).map_or("", |m| m.as_str()).to_owned();
        if let Some(slot) = attrs.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value; // the last one wins, as in a dict
        } else {
            attrs.push((name, value));
        }
    }
    let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    html::collect::size_from(get("style"), get("width"), get("height"))
}

impl<'a> Cleaner<'a> {
    /// Decide one site; the rewrite goes to `later`. Returns true when the document changes.
    fn site(&mut self, doc: &Document, i: usize, s: &Site, later: &mut Vec<(usize, Op)>) -> bool {
        if let Some(always) = s.always.as_deref() {
            if always == "policy:unwrap-noscript" {
                later.push((i, Op::Unwrap));
                return true;
            }
            if always == "policy:xmp-as-pre" {
                later.push((i, Op::XmpToPre));
                return true;
            }
            let mut v = None;
            if let Some(url) = s.url.as_deref() {
                let n = normalise(url);
                if is_remote(&n) {
                    v = self.det.load(&n, None, None, false);
                }
            }
            self.verdict_finding(s.kind, s.url.as_deref(), &s.where_, "removed", v.as_ref(), Some(always));
            later.push((i, Op::Remove));
            return true;
        }
        if s.css_mode == "comment" {
            return self.comment(i, s, later);
        }
        if let Some(text) = s.css.as_deref() {
            let prefix = format!("{}:", s.where_);
            let new = {
                let mut judge = |url: &str, kind: &str, where_: &str| self.css_judge(url, kind, where_, "image", &prefix);
                match s.css_mode {
                    "sheet" => css::clean_stylesheet(text, &mut judge),
                    "block" => css::clean_declarations(text, &mut judge),
                    _ => match css::clean_value(text, &mut judge, &s.where_) {
                        ValueOutcome::Removed => {
                            later.push((i, Op::Remove));
                            return true;
                        }
                        ValueOutcome::Unchanged => None,
                        ValueOutcome::Rewritten(t) => Some(t),
                    },
                }
            };
            return match new {
                None => false,
                Some(t) => {
                    later.push((i, Op::SetCss(t)));
                    true
                }
            };
        }
        if let Some(srcset) = &s.srcset {
            let image = site_is_image(doc, s);
            let mut kept: Vec<String> = vec![];
            let mut changed = false;
            for (url, desc) in srcset {
                // each candidate judged on the element's evidence, like its src
                match self.judge_load(url, s.kind, &s.where_, s.width, s.height, s.hidden, false, image) {
                    (LoadAction::Keep, _) => kept.push(format!("{url} {desc}").trim().to_owned()),
                    (LoadAction::Proxy, Some(new)) => {
                        kept.push(format!("{new} {desc}").trim().to_owned());
                        changed = true;
                    }
                    _ => changed = true,
                }
            }
            if !changed {
                return false;
            }
            let value = kept.join(", ");
            later.push((i, if value.is_empty() { Op::Remove } else { Op::SetAttr(value) }));
            return true;
        }
        if !s.load {
            let new = self.clean_link(s.url.as_deref().unwrap_or(""), &s.where_, &mut || is_unsubscribe(&html::collect::link_text(doc, s)));
            return match new {
                None => false,
                Some(v) => {
                    later.push((i, if v.is_empty() { Op::Remove } else { Op::SetAttr(v) }));
                    true
                }
            };
        }
        let tag = tag_of(doc, s);
        let is_img = s.where_.ends_with("@src") && (tag == "img" || tag == "image");
        let image = site_is_image(doc, s);
        let url = s.url.clone().unwrap_or_default();
        let (action, new) =
            self.judge_load(&url, s.kind, &s.where_, s.width, s.height, s.hidden, is_img, image);
        let op = match action {
            LoadAction::Keep => return false,
            LoadAction::Proxy => Op::SetAttr(new.unwrap_or_default()),
            LoadAction::Placeholder => Op::Placeholder(url),
            // a pixel goes whole, not as a broken image
            LoadAction::Remove if is_img || s.where_ == "input@src" => Op::RemoveElement,
            LoadAction::Remove => Op::Remove,
        };
        later.push((i, op));
        true
    }

    /// Outlook conditional comments carry markup (VML) with its own URLs: judge each one in place.
    /// Inside them an `href` is a link only on `<a>`/`<area>` and VML shapes; elsewhere it loads.
    fn comment(&mut self, i: usize, s: &Site, later: &mut Vec<(usize, Op)>) -> bool {
        let text = s.css.as_deref().unwrap_or("");
        let mut changed = false;
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in html::collect::URL_IN_COMMENT.find_iter(text) {
            let written = m.as_str();
            let url = html::unescape(written).into_owned();
            let head = &text[..m.start()];
            let from = head.char_indices().rev().nth(11).map_or(0, |(k, _)| k); // the 12 characters before
            let before = head[from..].to_lowercase();
            let lt = text[..m.start()].rfind('<');
            let tag = lt
                .and_then(|lt| TAG_NAME.captures(&text[lt..]).map(|c| c[1].to_lowercase()))
                .unwrap_or_default();
            let new: Option<String> = if HREF_BEFORE.is_match(&before)
                && (LINK_TAGS.contains(&tag.as_str()) || VML_LINK_SHAPES.contains(&tag.as_str()))
            {
                self.clean_link(&url, &format!("comment:{tag}@href"), &mut || false)
            } else if let Some(kind) = html::collect::drop_kind(&tag).or(match tag.as_str() {
                "link" => Some("stylesheet"),
                "meta" => Some("meta"),
                _ => None,
            }) {
                self.find(kind, Some(&url), &format!("comment:{tag}"), "removed", &format!("policy:no-{tag}"), None,
                          "policy", None);
                Some(String::new())
            } else {
                let (w, h) = if tag == "img" || tag == "v:image" { markup_size(text, lt.unwrap_or(0)) } else { (None, None) };
                let label = format!("comment:{}", if tag.is_empty() { "?" } else { &tag });
                let image = !COMMENT_NON_IMAGE_TAGS.contains(&tag.as_str());
                match self.judge_load(&url, "image", &label, w, h, false, false, image) {
                    (LoadAction::Keep, _) => None,
                    (LoadAction::Proxy, new) => new,
                    _ => Some(String::new()),
                }
            };
            out.push_str(&text[last..m.start()]);
            match new {
                None => out.push_str(written),
                Some(n) => {
                    changed = true;
                    out.push_str(&markup::escape(&n));
                }
            }
            last = m.end();
        }
        out.push_str(&text[last..]);
        let mut new_text = out;
        if html::collect::comment_hides_url(&new_text) {
            // a URL only character references reveal: the comment goes
            self.find("image", None, "comment", "removed", "policy:hidden-url-in-comment", None, "policy", None);
            new_text.clear();
            changed = true;
        }
        if html::collect::comment_runs_script(&new_text) {
            // Renamed so nothing reads it as script or a base URL (x-expression(, x-javascript:, <x-base);
            // if escapes still hide some, the comment goes whole.
            new_text = markup::rename_script_hooks(&new_text);
            if html::collect::comment_runs_script(&new_text) {
                new_text.clear();
            }
            self.find("script", None, "comment", "removed", "policy:script-in-comment", None, "policy", None);
            changed = true;
        }
        if !changed {
            return false;
        }
        later.push((i, Op::SetComment(new_text)));
        true
    }
}

impl<'a> Cleaner<'a> {
    /// Clean one document: (html, whether it holds mutation-prone markup). A mutation-prone document
    /// (or any, with `normalize`) is written back from the parsed tree even when no site changed,
    /// so markup other parsers might read differently reaches the client exactly as we read it.
    pub fn run(&mut self, text: &str, normalize: bool) -> Result<(Option<String>, bool), Exceeded> {
        let mut doc = html::parse(text)?;
        let (mut sites, prone) = html::collect(&doc);
        super::visibility::resolve(&doc, &mut sites, &self.det)?;
        // How each image URL is used across the document: spacers and visible images are not pixels.
        self.det.count.clear();
        self.det.visible.clear();
        for s in sites.iter().filter(|s| s.load && s.where_.ends_with("@src")) {
            let Some(u) = s.url.as_deref().filter(|u| !u.is_empty()) else { continue };
            let key = absolute(&normalise(u));
            if !s.hidden && size_signal(s.width, s.height).is_none() {
                self.det.visible.insert(key.clone());
            }
            *self.det.count.entry(key).or_insert(0) += 1;
        }
        let mut later: Vec<(usize, Op)> = vec![];
        let mut changed = false;
        for (i, s) in sites.iter().enumerate() {
            changed |= self.site(&doc, i, s, &mut later);
        }
        // (the output is about the input's size: room for a little more than that)
        let room = text.len() + text.len() / 16;
        if !changed {
            drop(sites);
            return Ok((if normalize || prone { Some(html::serialize_sized(&doc, room)) } else { None }, prone));
        }
        // Element removals last, and placeholders after style rewrites of the same element.
        let ops: Vec<(&Site, Op)> = later.into_iter().map(|(i, op)| (&sites[i], op)).collect();
        html::apply_all(&mut doc, &ops)?;
        drop(ops);
        drop(sites); // not needed to write the document: its memory is free for the output
        Ok((Some(html::serialize_sized(&doc, room)), prone))
    }
}

/// `clean_html`'s document pass: the cleaned HTML and the findings. A mutation-prone document is
/// re-parsed and cleaned until the output is a fixed point (a browser re-parsing it must see no
/// more than we did); if it never settles, or needs more nodes than a document can hold, the
/// document is shown as text.
pub fn clean_document<'a>(text: &str, settings: &'a Settings<'a>, detector: &dyn Fn() -> Detector)
    -> (String, Vec<Finding>) {
    let mut cleaner = Cleaner::new(settings, detector());
    let reason = match settle(&mut cleaner, text, settings, detector) {
        Ok(Some(out)) => return (out, cleaner.findings),
        Ok(None) => "policy:unstable-markup",
        Err(Exceeded::Nodes) => "policy:too-many-nodes",
        Err(Exceeded::Depth) => "policy:too-deep",
        Err(Exceeded::Selectors) => "policy:too-complex-css",
    };
    cleaner.find("object", None, "document", "removed", reason, None, "policy", None);
    (format!("<pre>{}</pre>", markup::escape(text)), cleaner.findings)
}

/// The cleaned document at its fixed point (None: no fixed point in three more rounds); what
/// each further round found goes to `cleaner` too (not its left-marked links).
fn settle<'a>(cleaner: &mut Cleaner<'a>, text: &str, settings: &'a Settings<'a>, detector: &dyn Fn() -> Detector)
    -> Result<Option<String>, Exceeded> {
    let (out, prone) = cleaner.run(text, false)?;
    let mut out = out.unwrap_or_else(|| text.to_owned());
    if !prone {
        return Ok(Some(out));
    }
    for _ in 0..3 {
        let mut again = Cleaner::new(settings, detector());
        let (out2, _) = again.run(&out, true)?;
        let out2 = out2.unwrap_or_else(|| out.clone());
        if out2 == out {
            return Ok(Some(out));
        }
        cleaner.findings.extend(again.findings.into_iter().filter(|f| f.action != "left-marked"));
        out = out2;
    }
    Ok(None)
}

/// Whether the words before a text part's link on its line say unsubscribe (`is_unsubscribe` of
/// the line up to the link), for links asked in order, in time linear in the text: the hints are
/// literals, so a line's prefix holds one exactly when the line's earliest-ending hint ends within
/// it. Positions are in the lowercased line (lowercasing may change a character's length).
struct LineHints<'t> {
    text: &'t str,
    /// The current line, where it starts and ends in `text` (None before the first question).
    line: Option<std::ops::Range<usize>>,
    /// Where the line's earliest hint ends in the lowercased line (None: no hint), once asked.
    first_end: Option<Option<usize>>,
    /// How far into the line has been lowercased, and to how many bytes.
    read: usize,
    lowered: usize,
}

impl<'t> LineHints<'t> {
    fn new(text: &'t str) -> Self {
        LineHints { text, line: None, first_end: None, read: 0, lowered: 0 }
    }

    fn before(&mut self, at: usize) -> bool {
        let line = match &self.line {
            Some(l) if l.start <= at && at <= l.end => l.clone(),
            _ => {
                let start = self.text[..at].rfind('\n').map_or(0, |k| k + 1);
                let end = self.text[at..].find('\n').map_or(self.text.len(), |k| at + k);
                *self = LineHints { text: self.text, line: Some(start..end), first_end: None, read: start, lowered: 0 };
                start..end
            }
        };
        let text = self.text;
        let first_end = *self.first_end.get_or_insert_with(|| UNSUBSCRIBE.find(&text[line.clone()].to_lowercase()).map(|m| m.end()));
        let Some(first_end) = first_end else { return false };
        if at < self.read {
            return is_unsubscribe(&text[line.start..at]); // asked out of order: read afresh
        }
        self.lowered += text[self.read..at].chars().flat_map(char::to_lowercase).map(char::len_utf8).sum::<usize>();
        self.read = at;
        first_end <= self.lowered
    }
}

/// Where a link of a text part starts: `http://`, `https://` or `www.` in any case (the long s `ſ`
/// is an `s` to a case-insensitive regex too).
static TEXT_URL_START: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(["https://", "http://", "httpſ://", "www."])
        .expect("fixed literals")
});

/// The links of a text part, as `(?i)(?:https?://|www\.)[^\s<>"'`]+` finds them (leftmost first, each
/// search going on after the last link), by its literal starts and a scan to the first stop: the
/// regex's forward-then-reverse search cost a third of cleaning a text part.
fn text_urls(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let m = TEXT_URL_START.find(&text[at..])?;
        let (start, prefix_end) = (at + m.start(), at + m.end());
        let run = text[prefix_end..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`'))
            .unwrap_or(text.len() - prefix_end);
        if run > 0 {
            at = prefix_end + run;
            return Some(start..at);
        }
        at = start + text[start..].chars().next().map_or(1, char::len_utf8); // no link here: look on
    })
}

/// Clean the links of a text/plain part (nothing in plain text loads by itself).
pub fn clean_text(text: &str, settings: &Settings<'_>, detector: Detector) -> (String, Vec<Finding>) {
    if !text.contains("http") && !text.contains("HTTP") {
        return (text.to_owned(), vec![]);
    }
    let mut cleaner = Cleaner::new(settings, detector);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut hints = LineHints::new(text);
    for m in text_urls(text) {
        out.push_str(&text[last..m.start]);
        last = m.end;
        let whole = &text[m.clone()];
        let mut url = whole;
        let mut trail_start = url.len();
        while let Some(c) = url.chars().last() {
            if !".,;:!?)]}>'\"".contains(c) {
                break;
            }
            if c == ')' && url.matches('(').count() >= url.matches(')').count() {
                break;
            }
            trail_start -= c.len_utf8();
            url = &url[..trail_start];
        }
        let trail = &whole[trail_start..];
        if url.len() >= 4 && url[..4].eq_ignore_ascii_case("www.") {
            out.push_str(whole);
            continue;
        }
        let new = cleaner.clean_link(url, "text", &mut || hints.before(m.start));
        out.push_str(match new.as_deref() {
            Some(n) if !n.is_empty() => n,
            _ => url,
        });
        out.push_str(trail);
    }
    out.push_str(&text[last..]);
    (out, cleaner.findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filterlist::FilterIndex;
    use crate::heuristics::Identity;
    use crate::html::parse::{TEST_BUDGET, TEST_LIMIT};
    use crate::html::NodeId;
    use crate::psl::Psl;
    use crate::rules::{Judge, JudgeInput};
    use std::sync::Arc;

    /// A document that needs more nodes than the limit, to parse (one node short) or to rewrite
    /// (`<xmp>` to `<pre>` adds two), is not cleaned but shown as text, and the finding says why.
    #[test]
    fn too_many_nodes_shown_as_text() {
        let input = JudgeInput { vendors: vec![], redirects: vec![], params: vec![], exempt_hosts: vec![], generic_open: vec![], spacer: vec![] };
        let judge = Arc::new(Judge::build(input, Arc::new(FilterIndex::build(&[])), Arc::new(Psl::from_text(""))));
        let identity = Arc::new(Identity::new(vec![], vec![]));
        let plans = RefCell::new(LinkPlans::default());
        let settings = Settings { mode: Mode::All, clean_links: true, proxy: None, unsubscribe: &[], plans: &plans };
        let detector = || Detector::new(judge.clone(), identity.clone(), None);
        let html = r#"<p>a<img src="http://t.example/p.gif"><xmp>b<i></xmp>"#;
        let clean = |limit| {
            TEST_LIMIT.with(|l| l.set(limit));
            let (out, findings) = clean_document(html, &settings, &detector);
            (out, findings.iter().map(|f| f.reason.clone()).collect::<Vec<_>>())
        };
        let needed = html::parse::parse_within(html, NodeId::MAX_NODES, usize::MAX, html::parse::Tokens::Ours).unwrap().node_count();
        let whole = clean(NodeId::MAX_NODES);
        assert!(whole.0.contains("<pre>b&lt;i&gt;</pre>") && !whole.1.iter().any(|r| r == "policy:too-many-nodes"), "{whole:?}");
        assert_eq!(clean(needed + 2), whole);
        for limit in [needed - 1, needed, needed + 1] {
            let (out, reasons) = clean(limit);
            assert_eq!(out, format!("<pre>{}</pre>", markup::escape(html)));
            assert_eq!(reasons.last().map(String::as_str), Some("policy:too-many-nodes"), "{limit}: {reasons:?}");
        }
        TEST_LIMIT.with(|l| l.set(NodeId::MAX_NODES));
        // The same when the parse's budget is spent (html5ever's quadratic re-opening).
        for units in [0, 3] {
            TEST_BUDGET.with(|b| b.set(Some(units)));
            let (out, findings) = clean_document(html, &settings, &detector);
            TEST_BUDGET.with(|b| b.set(None));
            assert_eq!(out, format!("<pre>{}</pre>", markup::escape(html)));
            assert_eq!(findings.last().map(|f| f.reason.as_str()), Some("policy:too-many-nodes"), "{units}");
        }
    }

    /// The line's hints answered once a line give what `is_unsubscribe` of the line up to each
    /// position gives: hints in any case, split by a link or a line end, next to characters whose
    /// lowercase is longer or context-dependent (İ, Σ), asked in order and out of order.
    #[test]
    fn line_hints_as_the_prefix_read_each_time() {
        let pieces = ["Unsub", "UNSUBSCRIBE", "opt", "-out", "Opt Out", "DÉSABONNER", "İ", "Σ", "ς", "ẞ", " ", "\n", "x",
                      "https://a.test/u", "preferences", "pre", "ferences", "é", "\r\n"];
        let mut rng = crate::testrand::XorShift(0x5eed_1e55);
        let mut asked = 0;
        for _ in 0..3_000 {
            let n = 1 + rng.below(12);
            let text: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
            let mut points: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            let mut hints = LineHints::new(&text);
            if rng.below(4) == 0 {
                points.reverse(); // out of order: still right
            }
            for at in points {
                let start = text[..at].rfind('\n').map_or(0, |k| k + 1);
                assert_eq!(hints.before(at), is_unsubscribe(&text[start..at]), "{text:?} at {at}");
                asked += 1;
            }
        }
        assert!(asked > 20_000, "{asked}");
    }

    /// The scan finds the links the regex it replaced finds, on text built from every piece that
    /// could make a difference (prefixes in any case, the long s, stops, Unicode spaces, trails).
    #[test]
    fn text_urls_as_the_regex() {
        let rx = Regex::new(r#"(?i)(?:https?://|www\.)[^\s<>"'`]+"#).unwrap();
        let pieces = [
            "http://", "HTTPS://", "hTtP://", "httpſ://", "HTTPſ://", "www.", "WwW.", "ww.", "http:/", "https:",
            "a", "é", "x.y/z?q=1", " ", "\n", "\u{a0}", "\u{2003}", "\u{85}", "<", ">", "\"", "'", "`", ")", "(", ".", ",",
        ];
        let mut seed = 0x2545_f491_u64;
        let mut found = 0;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            seed = seed.wrapping_add(1);
            let want: Vec<_> = rx.find_iter(&text).map(|m| m.range()).collect();
            found += want.len();
            assert_eq!(text_urls(&text).collect::<Vec<_>>(), want, "{text:?}");
        }
        assert!(found > 5_000);
    }
}
