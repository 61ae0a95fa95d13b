//! Signals that catch trackers no list knows. Each signal has a name that appears in the report.
//!
//! A remote image is judged a tracker when its signals add up to ``BLOCK_SCORE``; the recipient's
//! own identity in a URL blocks on its own. Unknown images that trip nothing stay (fail open).
use std::sync::LazyLock;

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use crate::pycompat::unquote;

pub const BLOCK_SCORE: i32 = 3;

fn rx(src: &str) -> Regex {
    Regex::new(src).expect("static regex")
}

// Paths that, in the wild, belong to open-tracking endpoints. Strong: almost never content.
static STRONG_PATH: LazyLock<Regex> = LazyLock::new(|| rx(concat!(
    r"(?i)/(?:wf/open|track/open|tracking/open|e/o/|emimp/|open\.aspx|open\.php|openpixel|",
    r"beacon|pixel(?:\.gif|\.png|\.php)?(?:[/?]|$)|trk(?:[/?.]|$)|imp(?:ression)?s?(?:[/?.]|$)|",
    r"I0/|mo/|tr/op/|o\.gif|t\.gif|track\.gif|__ptq\.gif|spacer\.gif\?|1x1\.(?:gif|png)\?|",
    r"e/eo|ss/o/|tracking/|track(?:ing)?-pixel|email/open|mail/open|open/\w)")));
// Weak: common in tracking, but also seen on content hosts (e.g. storage buckets use /o/).
static WEAK_PATH: LazyLock<Regex> = LazyLock::new(|| rx(r"(?i)/(?:o|q|open|t|r|v|wf|ot|op|read|view|log|hit)(?:/|\?|$)"));
static IMAGE_EXT: LazyLock<Regex> = LazyLock::new(|| rx(r"(?i)\.(?:png|jpe?g|gif|webp|avif|svg|bmp|ico|tiff?)(?:$|[?#;])"));
// A long opaque per-recipient token: 20+ chars of url-safe alphabet mixing letters and digits.
#[cfg(test)]
static TOKEN: LazyLock<Regex> = LazyLock::new(|| rx(r"[A-Za-z0-9_\-=%.~]{20,}"));
static SPACER_NAME: LazyLock<Regex> = LazyLock::new(|| rx(
    r"(?i)/(?:spacer|blank|clear|transparent|space|s|1x1|dot|pixel_?transparent|trans)\.(?:gif|png)$"));
// Pixel file names (last path segment). Spacer names only count when a query follows ("?" appended).
static TRACKING_FILENAME: LazyLock<Regex> = LazyLock::new(|| rx(concat!(
    r"/(?:open(?:ed)?|o|p|t|r|px|pixel|beacon|track(?:ing)?|trk|read|view|imp|ping|counter|stat)",
    r"\.(?:gif|png|jpe?g|php|aspx?)(?:$|\?)|/(?:1x1|blank|spacer|clear|dot|transparent|trans)\.(?:gif|png)\?")));
// Analytics and ad-impression endpoints (Matomo/Piwik, Google measurement protocol, Adobe, ad servers).
static IMPRESSION: LazyLock<Regex> = LazyLock::new(|| rx(concat!(
    r"(?:piwik|matomo)\.php\?|[?&]rec=1(?:&|$)|/g\.gif\?|/collect\?(?:[^#]*&)?(?:tid|cid)=|/b/ss/|",
    r"/w/1\.0/a[ir]\b|/ad(?:server|serve|view)?/(?:imp|view|display)|/imp(?:ression)?s?(?:[/?.]|$)|",
    r"/(?:ad|ads)\?(?:[^#]*&)?(?:z|zone|zoneid|auid|placement)=")));
static ALL_DIGITS3: LazyLock<Regex> = LazyLock::new(|| rx(r"^\d{3,}$"));

// Query parameters that resize or version an image: never a per-recipient id.
const LAYOUT_PARAMS: &[&str] = &["v", "ver", "version", "w", "h", "width", "height", "q", "quality", "fit", "format",
    "fm", "auto", "s", "sz", "size", "dpr", "crop", "rect", "ixlib", "cs", "alt", "zoom", "center", "scale", "m", "type",
    "lang", "locale", "theme", "color"];
// First labels of a sender's tracking subdomain (click.brand.com, email.brand.com, t.brand.com …).
pub const TRACKING_LABELS: &[&str] = &["email", "emails", "click", "clicks", "track", "tracking", "trk", "t", "e",
    "em", "links", "link", "l", "mail", "mailing", "go", "ablink", "open", "opens", "o", "r", "news", "newsletter",
    "info", "marketing", "mkt", "engage", "url", "ct", "px", "pixel", "analytics", "stats", "metrics", "beacon", "ea",
    "ee", "el"];

fn is_opaque(token: &str) -> bool {
    let has_digit = token.bytes().any(|c| c.is_ascii_digit());
    let has_alpha = token.bytes().any(|c| c.is_ascii_alphabetic());
    // the last six characters hold no '.' (a file extension)
    let tail_start = token.char_indices().rev().nth(5).map_or(0, |(i, _)| i);
    has_digit && has_alpha && !token[tail_start..].contains('.')
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'=' | b'%' | b'.' | b'~')
}

/// What ``TOKEN.find_iter`` finds, without the regex: every maximal run of 20 or more token bytes
/// (the class is ASCII, so runs are whole characters), left to right.
fn token_runs(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            while i < b.len() && !is_token_byte(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && is_token_byte(b[i]) {
                i += 1;
            }
            if i - start >= 20 {
                return Some(&text[start..i]);
            }
        }
        None
    })
}

fn rest_of(target: &str) -> &str {
    target.find('/').map(|i| &target[i..]).unwrap_or("/")
}

/// Path shape, opaque-token and image-extension signals of "host/path?query".
fn base_path_signals(target: &str) -> Vec<&'static str> {
    let rest = rest_of(target);
    let mut out = Vec::new();
    if STRONG_PATH.is_match(rest) {
        out.push("tracking-path");
    } else if WEAK_PATH.is_match(rest) {
        out.push("tracking-path-weak");
    }
    if token_runs(rest).any(is_opaque) {
        out.push("opaque-token");
        let path = rest.split('?').next().unwrap_or("");
        if !IMAGE_EXT.is_match(path) {
            out.push("no-image-extension");
        }
    }
    out
}

fn id_value(v: &str) -> bool {
    v.len() >= 4
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.~%+".contains(&b))
        && v.bytes().any(|b| b.is_ascii_digit())
}

/// Is `name` (a query parameter's name) one of `LAYOUT_PARAMS`, compared lowercased?
fn layout_param(name: &str) -> bool {
    if name.is_ascii() {
        LAYOUT_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
    } else {
        LAYOUT_PARAMS.contains(&name.to_lowercase().as_str())
    }
}

/// ``^\d{3,}$`` (Unicode digits), without the regex for the ASCII segments nearly all paths have.
fn all_digits3(seg: &str) -> bool {
    if seg.is_ascii() {
        seg.len() >= 3 && seg.bytes().all(|b| b.is_ascii_digit())
    } else {
        ALL_DIGITS3.is_match(seg)
    }
}

/// File-name, impression, query-id and account/message-id signals of "host/path?query".
pub fn extra_path_signals(target: &str) -> Vec<&'static str> {
    let rest = rest_of(target);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut out = Vec::new();
    // The lowercased path (with a '?' when a query follows) and the lowercased rest: for ASCII (nearly
    // every URL) one lowercase copy serves both, the path's being its prefix.
    let (probe_owned, low_rest);
    let probe: &str = if rest.is_ascii() {
        low_rest = rest.to_ascii_lowercase();
        &low_rest[..path.len() + usize::from(!query.is_empty())]
    } else {
        low_rest = rest.to_lowercase();
        let mut p = path.to_lowercase();
        if !query.is_empty() {
            p.push('?');
        }
        probe_owned = p;
        &probe_owned
    };
    if TRACKING_FILENAME.is_match(probe) {
        out.push("tracking-filename");
    }
    if IMPRESSION.is_match(&low_rest) {
        out.push("impression-endpoint");
    }
    if !query.is_empty() {
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !value.is_empty() && id_value(value) && !layout_param(name) {
                out.push("query-id");
                break;
            }
        }
    }
    // account and message ids as path segments (/open/1/5521/88017/…): two numeric segments or more
    let numeric = path.split('/').skip(1).filter(|s| all_digits3(s)).count();
    if numeric >= 2 {
        out.push("account-message-ids");
    }
    out
}

/// Every URL-only signal for "host/path?query": path shapes, tokens, file names, endpoints, ids.
pub fn path_signals(target: &str) -> Vec<&'static str> {
    let mut out = base_path_signals(target);
    let opaque = out.contains(&"opaque-token");
    for extra in extra_path_signals(target) {
        if extra != "query-id" || !opaque {
            out.push(extra); // one token is one signal
        }
    }
    out
}

/// Does ``host``'s first label name tracking (click., email., t. …)?
pub fn tracking_label(host: &str) -> bool {
    TRACKING_LABELS.contains(&host.split('.').next().unwrap_or(""))
}

/// Is ``host`` a tracking-named subdomain (click., email., t. …) of the sender's own domain?
pub fn tracking_subdomain(host: &str, sender_domain: Option<&str>, registrable: &str) -> bool {
    match sender_domain {
        Some(s) if !s.is_empty() && registrable == s && host != registrable => tracking_label(host),
        _ => false,
    }
}

pub fn signal_score(signal: &str) -> i32 {
    match signal {
        "tracking-path" | "tracking-filename" | "impression-endpoint" => 2,
        "tiny-image" | "hidden-image" | "generic-rule" => 3,
        "tracking-path-weak" | "opaque-token" | "no-image-extension" | "thin-image" | "query-id"
        | "account-message-ids" | "tracking-subdomain" => 1,
        _ => 0,
    }
}

pub fn score<'a>(signals: impl IntoIterator<Item = &'a str>) -> i32 {
    signals.into_iter().map(signal_score).sum()
}

pub fn is_spacer_name(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or("");
    !target.contains('?') && SPACER_NAME.is_match(path)
}

/// "tiny-image" (pixel-sized), "thin-image" (one side a pixel) or None.
pub fn size_signal(width: Option<f64>, height: Option<f64>) -> Option<&'static str> {
    if let (Some(w), Some(h)) = (width, height) {
        if (w <= 2.0 && h <= 2.0) || w * h <= 4.0 {
            return Some("tiny-image");
        }
    }
    if width.is_some_and(|w| w <= 1.0) || height.is_some_and(|h| h <= 1.0) {
        // Python: (width or 0) <= 1 and (height or 0) <= 1 (0.0 and None are both falsy)
        let w = width.unwrap_or(0.0);
        let h = height.unwrap_or(0.0);
        return Some(if w <= 1.0 && h <= 1.0 { "tiny-image" } else { "thin-image" });
    }
    None
}

/// The recipient's addresses in every form a sender may put them in a URL (the forms are built by
/// Python once per recipient set); one automaton per case rule, needles in priority order.
pub struct Identity {
    folded: Option<Needles>,
    exact: Option<Needles>,
    folded_gate: Gate,
}

/// What a text must hold for any of a needle set to occur in it: one of `marks` (an address has an
/// `@`, its URL-encoded form `%40`), or a run of hex digits `hex_run` long (a digest). Most URLs
/// hold neither, and hex-rich tracking URLs made the automaton walk every byte; `always` when a
/// needle has neither shape.
#[derive(Default)]
struct Gate {
    marks: Vec<&'static str>,
    hex_run: Option<usize>,
    always: bool,
}

impl Gate {
    fn of(needles: &[(String, String)]) -> Gate {
        let mut g = Gate::default();
        for (n, _) in needles {
            let mark = ["@", "%40"].into_iter().find(|m| n.contains(m));
            if let Some(m) = mark {
                if !g.marks.contains(&m) {
                    g.marks.push(m);
                }
            } else if n.len() >= 16 && n.bytes().all(|b| b.is_ascii_hexdigit()) {
                g.hex_run = Some(g.hex_run.map_or(n.len(), |k| k.min(n.len())));
            } else {
                g.always = true;
            }
        }
        g
    }

    /// Could a needle occur in the lowercased `text`? Asked of the text as written: lowercasing
    /// makes no `@`, `%40` or hex digit out of anything else, and A-F become a-f.
    fn may_match(&self, text: &str) -> bool {
        if self.always || self.marks.iter().any(|m| text.contains(m)) {
            return true;
        }
        self.hex_run.is_some_and(|k| has_hex_run(text.as_bytes(), k))
    }
}

/// Does `text` hold `k` (> 0) hex digits in a row? Looks at the last byte of each window first: a
/// byte that is not a hex digit rules out every window holding it, so most URLs are passed over
/// `k` bytes at a time instead of byte by byte.
fn has_hex_run(text: &[u8], k: usize) -> bool {
    let mut lo = 0; // no run of k starts before lo
    while lo + k <= text.len() {
        let hi = lo + k - 1;
        match text[lo..=hi].iter().rposition(|b| !b.is_ascii_hexdigit()) {
            None => return true,
            Some(j) => lo += j + 1,
        }
    }
    false
}

/// One set of needle forms: `any` answers "is one of them in the text?" (aho-corasick's packed
/// SIMD searcher, Teddy: most URLs hold none, and it rejects them at memory speed where the
/// automaton's byte prefilter stopped every few bytes on base64-like click tokens); `which` finds
/// every occurrence, so the first form in priority order wins. (None: too many forms for the
/// packed searcher, e.g. a long recipient list; `which` alone answers.)
struct Needles {
    any: Option<packed::Searcher>,
    which: AhoCorasick,
    kinds: Vec<String>,
}

fn automaton(needles: &[(String, String)]) -> Option<Needles> {
    if needles.is_empty() {
        return None;
    }
    let forms = || needles.iter().map(|(n, _)| n.as_str());
    let any = packed::Config::new().builder().extend(forms()).build();
    // A contiguous NFA: built in a fraction of a DFA's time (an identity is built for every new
    // recipient set, and for every document when caches are cold); it runs only on a match.
    let which = AhoCorasick::builder().match_kind(MatchKind::Standard).kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(forms()).ok()?;
    Some(Needles { any, which, kinds: needles.iter().map(|(_, k)| k.clone()).collect() })
}

fn first_needle<'a>(auto: &'a Option<Needles>, text: &str) -> Option<&'a str> {
    let n = auto.as_ref()?;
    if n.any.as_ref().is_some_and(|a| a.find(text).is_none()) {
        return None;
    }
    let best = n.which.find_overlapping_iter(text).map(|m| m.pattern().as_usize()).min()?;
    Some(n.kinds[best].as_str())
}

impl Identity {
    /// ``folded``: compared with the lowercased URL; ``exact``: case-sensitive (base64). Each is
    /// (needle, kind) with the needle that wins first (longest first).
    pub fn new(folded: Vec<(String, String)>, exact: Vec<(String, String)>) -> Identity {
        Identity { folded_gate: Gate::of(&folded), folded: automaton(&folded), exact: automaton(&exact) }
    }

    pub fn is_empty(&self) -> bool {
        self.folded.is_none() && self.exact.is_none()
    }

    /// How the recipient appears in the URL ("plain", "md5", "base64", …), or None.
    pub fn find(&self, url: &str) -> Option<&str> {
        if self.is_empty() {
            return None;
        }
        let decoded;
        let texts: &[&str] = if url.contains('%') {
            decoded = unquote(url);
            &[url, decoded.as_str()]
        } else {
            &[url]
        };
        for text in texts {
            if self.folded_gate.may_match(text) {
                if let Some(k) = first_needle(&self.folded, &text.to_lowercase()) {
                    return Some(k);
                }
            }
            if let Some(k) = first_needle(&self.exact, text) {
                return Some(k);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(path_signals("h/wf/open?upn=aB1cD2eF3gH4iJ5kL6mN7oP8qR9"),
                   vec!["tracking-path", "opaque-token", "no-image-extension"]);
        assert_eq!(path_signals("h/img/p.gif?cid=8812&r=77"), vec!["tracking-filename", "query-id"]);
        assert_eq!(extra_path_signals("h/open/1/5521/88017/x"), vec!["account-message-ids"]);
        assert_eq!(size_signal(Some(600.0), Some(1.0)), Some("thin-image"));
        assert_eq!(size_signal(Some(0.0), None), Some("tiny-image"));
        assert!(is_spacer_name("h/img/spacer.gif") && !is_spacer_name("h/img/spacer.gif?x"));
    }

    /// `extra_path_signals` and `is_opaque` as first written (a lowercase copy per probe, a Vec of
    /// segments, a regex per segment): the reading the faster ones must give.
    mod plain {
        use super::super::*;

        pub fn is_opaque(token: &str) -> bool {
            let has_digit = token.chars().any(|c| c.is_ascii_digit());
            let has_alpha = token.chars().any(|c| c.is_ascii_alphabetic());
            let tail: String = {
                let n = token.chars().count();
                token.chars().skip(n.saturating_sub(6)).collect()
            };
            has_digit && has_alpha && !tail.contains('.')
        }

        pub fn extra_path_signals(target: &str) -> Vec<&'static str> {
            let rest = rest_of(target);
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let mut out = Vec::new();
            let mut probe = path.to_lowercase();
            if rest.contains('?') && !query.is_empty() {
                probe.push('?');
            }
            if TRACKING_FILENAME.is_match(&probe) {
                out.push("tracking-filename");
            }
            if IMPRESSION.is_match(&rest.to_lowercase()) {
                out.push("impression-endpoint");
            }
            if !query.is_empty() {
                for pair in query.split('&') {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let lname = name.to_lowercase();
                    if !value.is_empty() && !LAYOUT_PARAMS.contains(&lname.as_str()) && id_value(value) {
                        out.push("query-id");
                        break;
                    }
                }
            }
            let with_slash = format!("{path}/");
            let segs: Vec<&str> = with_slash.split('/').collect();
            let numeric = segs[1..segs.len() - 1].iter().filter(|s| ALL_DIGITS3.is_match(s)).count();
            if numeric >= 2 {
                out.push("account-message-ids");
            }
            out
        }
    }

    /// What `path_signals` is asked about: the corpus URLs' targets, the corpus strings as they are,
    /// generated URLs' targets and generated text as a target.
    fn targets() -> Vec<String> {
        let mut out: Vec<String> = crate::judge_corpus::strings();
        let gen = crate::judge_corpus::generated(0x7a_26e7, 30_000);
        let urls: Vec<String> = crate::judge_corpus::urls().into_iter().chain(gen.iter().cloned()).collect();
        out.extend(urls.iter().map(|u| crate::urls::parts(u).target));
        out.extend(gen);
        out
    }

    #[test]
    fn extra_signals_equal_the_plain_reading() {
        let (mut fired, mut tokens) = (std::collections::HashMap::new(), 0);
        for t in targets() {
            let fast = extra_path_signals(&t);
            assert_eq!(fast, plain::extra_path_signals(&t), "{t:?}");
            for s in fast {
                *fired.entry(s).or_insert(0) += 1;
            }
            let runs: Vec<&str> = TOKEN.find_iter(&t).map(|m| m.as_str()).collect();
            assert_eq!(token_runs(&t).collect::<Vec<_>>(), runs, "{t:?}");
            tokens += runs.len();
            for m in runs {
                assert_eq!(is_opaque(m), plain::is_opaque(m), "{t:?}");
            }
            // is_opaque is asked only of TOKEN matches; hold it to the plain one on any text too
            assert_eq!(is_opaque(&t), plain::is_opaque(&t), "{t:?}");
        }
        assert!(tokens > 10_000, "{tokens}");
        // every signal is seen firing (the comparison is not between two empty answers)
        for s in ["tracking-filename", "impression-endpoint", "query-id", "account-message-ids"] {
            assert!(fired.get(s).copied().unwrap_or(0) > 50, "{s}: {fired:?}");
        }
    }

    #[test]
    fn hex_run_skipping_equals_byte_by_byte() {
        let plain = |text: &[u8], k: usize| {
            let mut run = 0;
            text.iter().any(|b| {
                run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
                run >= k
            })
        };
        let mut rng = crate::testrand::XorShift(0x4ec5);
        let (mut yes, mut no) = (0, 0);
        for _ in 0..200_000 {
            let len = rng.below(90);
            // mostly hex digits, so that runs of every length occur
            const BYTES: &[u8] = b"0123456789abcdefABCDEF0123456789abcdef-_/gz.\xc3";
            let text: Vec<u8> = (0..len).map(|_| BYTES[rng.below(BYTES.len())]).collect();
            let k = 1 + rng.below(40);
            let fast = has_hex_run(&text, k);
            assert_eq!(fast, plain(&text, k), "{:?} {k}", String::from_utf8_lossy(&text));
            if fast { yes += 1 } else { no += 1 }
        }
        assert!(yes > 10_000 && no > 10_000, "{yes} {no}");
        for u in crate::judge_corpus::urls() {
            for k in [16, 32, 40, 64] {
                assert_eq!(has_hex_run(u.as_bytes(), k), plain(u.as_bytes(), k), "{u} {k}");
            }
        }
    }

    #[test]
    fn the_gate_never_hides_a_needle() {
        // Needles as Python builds them for an address: plain, URL-encoded, four hex digests.
        let folded: Vec<(String, String)> = [
            ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sha512"),
            ("fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", "sha256"),
            ("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "sha1"),
            ("5d41402abc4b2a76b9719d911017c592", "md5"),
            ("jane.doe%40example.org", "url-encoded"),
            ("jane.doe@example.org", "plain"),
        ].iter().map(|(n, k)| (n.to_string(), k.to_string())).collect();
        let exact: Vec<(String, String)> = ["amFuZS5kb2VAZXhhbXBsZS5vcm", "phbmUuZG9lQGV4YW1wbGUub3Jn", "qYW5lLmRvZUBleGFtcGxlLm9y"]
            .iter().map(|n| (n.to_string(), "base64".to_string())).collect();
        // The gates (the folded text check, the packed searchers) only ever skip a search that finds nothing.
        let gated = Identity::new(folded.clone(), exact.clone());
        let ungated = |n: Option<Needles>| n.map(|n| Needles { any: None, ..n });
        let plain = Identity {
            folded_gate: Gate { always: true, ..Gate::default() },
            folded: ungated(automaton(&folded)),
            exact: ungated(automaton(&exact)),
        };
        let pieces = ["https://t.example/o?u=", "JANE.DOE", "@", "%40", "example.org", "5D41402ABC4B2A76B9719D911017C59",
                      "2", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "&x=", "%2", "fedcba9876543210", "\u{212a}", "é", "0",
                      "amFuZS5kb2VAZXhhbXBsZS5vcm", "amFuZS5kb2VAZXhh", "ZS5vcm", "phbmUuZG9lQGV4YW1wbGUub3Jn", "%3D"];
        let mut seed = 11u64;
        for _ in 0..30000 {
            let mut url = String::new();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            for k in 0..(seed >> 59) {
                url.push_str(pieces[((seed >> (k * 3 % 60)) % pieces.len() as u64) as usize]);
            }
            assert_eq!(gated.find(&url), plain.find(&url), "{url}");
        }
        assert_eq!(gated.find("https://t.example/?h=5D41402ABC4B2A76B9719D911017C592"), Some("md5"));
        assert_eq!(gated.find("https://t.example/?h=xphbmUuZG9lQGV4YW1wbGUub3Jnx"), Some("base64"));
    }

    #[test]
    fn identity_with_more_forms_than_the_packed_searcher_takes() {
        // A long recipient list: beyond the packed searcher's pattern limit the automaton answers alone.
        let forms: Vec<(String, String)> = (0..400).map(|i| (format!("person{i}@example.org"), "plain".to_string())).collect();
        let id = Identity::new(forms, vec![]);
        assert_eq!(id.find("https://t.example/?e=Person399@example.org"), Some("plain"));
        assert_eq!(id.find("https://t.example/?e=person400@example.org"), None);
    }

    #[test]
    fn identity_prefers_the_first_needle() {
        let id = Identity::new(vec![("abcdef".into(), "long".into()), ("abc".into(), "short".into())], vec![]);
        assert_eq!(id.find("https://x/?q=ABCDEF"), Some("long"));
        assert_eq!(id.find("https://x/?q=%61bc"), Some("short"));
        assert_eq!(id.find("https://x/"), None);
    }
}
