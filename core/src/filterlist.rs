//! Adblock Plus filter lists (EasyPrivacy and the user's own), parsed and matched for mail.
//!
//! Mail differs from a web page in ways a browser engine cannot be told: every load is
//! third-party, a message has no site (``domain=`` inclusions never apply), no script runs.
//! Each filter is therefore loaded (with the load kinds it applies to) or dropped with a reason
//! a person can read. Matching never loops over the filters: pure host filters sit in a map
//! looked up once per host suffix; every other filter is filed under its rarest literal token
//! and a URL only verifies the filters filed under its own tokens.
use std::sync::OnceLock;

use rustc_hash::FxHashMap as HashMap;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::pycompat;

/// Load kinds a message can cause, one bit each. "link" is a click (ABP's document/popup).
pub const KINDS: [&str; 8] = ["image", "stylesheet", "font", "media", "object", "subdocument", "other", "link"];
pub const LINK: u16 = 1 << 7;
pub const DEFAULT_KINDS: u16 = 0x7f; // every type but document
const NEVER: u16 = 1 << 8; // a type mail never causes (script, xhr, …)

pub fn kind_bit(kind: &str) -> Option<u16> {
    KINDS.iter().position(|k| *k == kind).map(|i| 1u16 << i)
}

pub fn kind_names(bits: u16) -> Vec<&'static str> {
    KINDS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, k)| *k).collect()
}

fn type_option(name: &str) -> Option<u16> {
    Some(match name {
        "image" => 1,
        "stylesheet" => 1 << 1,
        "font" => 1 << 2,
        "media" => 1 << 3,
        "object" | "object-subrequest" => 1 << 4,
        "subdocument" => 1 << 5,
        "other" => 1 << 6,
        "document" | "popup" => LINK,
        "script" | "xmlhttprequest" | "ping" | "websocket" | "webrtc" | "beacon" | "csp_report" | "webbundle" => NEVER,
        _ => return None,
    })
}

const UNSUPPORTED: [&str; 19] = ["csp", "redirect", "redirect-rule", "rewrite", "removeparam", "replace", "header",
    "permissions", "sitekey", "genericblock", "generichide", "elemhide", "content", "urltransform", "uritransform",
    "to", "denyallow", "method", "badfilter"];
/// Tokens every URL has: filing a filter under one of these would check it on every URL.
const COMMON_TOKENS: [&str; 16] = ["http", "https", "www", "com", "net", "org", "html", "php", "gif", "png", "jpg",
    "img", "image", "images", "email", "mail"];

/// One loaded network filter.
#[derive(Debug)]
pub struct Filter {
    pub text: String,
    pub list_id: String,
    pub file: String,
    pub kinds: u16,
    pub exception: bool,
    pub host: Option<String>,
    pub pattern: String,
    pub match_case: bool,
    /// Where it sits in its list's loaded filters (the Python side keeps the same order).
    pub index: usize,
    /// Where it sits in the whole index.
    pub pos: usize,
    /// The longest literal piece every matching URL contains: checked before the regex runs.
    needle: String,
    /// The pattern is the needle itself (no anchor, `*` or `^`): containing it is matching it,
    /// and the regex never runs (most filters filed under a token are such paths).
    literal: bool,
    regex: OnceLock<Option<Regex>>,
}

impl Filter {
    #[allow(clippy::too_many_arguments)]
    fn new(text: &str, list_id: &str, file: &str, kinds: u16, exception: bool, host: Option<String>,
           pattern: &str, match_case: bool) -> Filter {
        let needle = required_literal(&if match_case { pattern.to_string() } else { pattern.to_lowercase() });
        let literal = !pattern.starts_with('|') && !pattern.ends_with('|') && !pattern.contains(['*', '^']);
        Filter { text: text.to_string(), list_id: list_id.to_string(), file: file.to_string(), kinds, exception,
                 host, pattern: pattern.to_string(), match_case, index: 0, pos: 0, needle, literal,
                 regex: OnceLock::new() }
    }

    /// "list:<list>/<filter as written>": what a verdict cites.
    pub fn reason(&self) -> String {
        format!("list:{}/{}", self.list_id, self.text)
    }

    fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| {
                let p = if self.match_case { self.pattern.clone() } else { self.pattern.to_lowercase() };
                Regex::new(&pattern_regex(&p)).ok()
            })
            .as_ref()
    }

    fn matches(&self, url: &str, low: &str) -> bool {
        let hay = if self.match_case { url } else { low };
        hay.contains(self.needle.as_str()) && (self.literal || self.regex().is_some_and(|rx| rx.is_match(hay)))
    }

    /// `matches` by the pattern's regex alone: what the shortcuts are tested against.
    fn matches_by_regex(&self, url: &str, low: &str) -> bool {
        self.regex().is_some_and(|rx| rx.is_match(if self.match_case { url } else { low }))
    }
}

/// The longest run of literal characters in an ABP pattern (anchors, ``*`` and ``^`` cut runs).
fn required_literal(pattern: &str) -> String {
    let body = pattern.trim_start_matches('|');
    let body = body.strip_suffix('|').unwrap_or(body);
    body.split(['*', '^']).max_by_key(|p| p.len()).unwrap_or("").to_string()
}

/// The regex for an ABP URL pattern (``||``, ``|``, ``^``, ``*``).
pub fn pattern_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 2 + 48);
    let mut p = pattern;
    if let Some(rest) = p.strip_prefix("||") {
        out.push_str(r"^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?(?:[^/?#]*\.)?");
        p = rest;
    } else if let Some(rest) = p.strip_prefix('|') {
        out.push('^');
        p = rest;
    }
    let mut end = "";
    if let Some(rest) = p.strip_suffix('|') {
        end = "$";
        p = rest;
    }
    let mut buf = [0u8; 4];
    for ch in p.chars() {
        match ch {
            '*' => out.push_str(".*"),
            '^' => out.push_str(r"(?:[^\w.%-]|$)"),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut buf))),
        }
    }
    out.push_str(end);
    out
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'%'
}

/// Runs of ``[a-z0-9%]`` as (start, end) byte offsets.
fn token_spans(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !is_token_byte(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let a = i;
        while i < b.len() && is_token_byte(b[i]) {
            i += 1;
        }
        Some((a, i))
    })
}

/// Tokens the pattern guarantees as whole URL tokens (bounded on both sides).
fn tokens_of(pattern: &str) -> Vec<String> {
    let left = pattern.starts_with('|');
    let right = pattern.ends_with('|');
    let body = pattern.trim_start_matches('|').trim_end_matches('|');
    let b = body.as_bytes();
    let mut out = Vec::new();
    for (a, e) in token_spans(body) {
        let before_open = if a > 0 { b[a - 1] == b'*' } else { !left };
        let after_open = if e < b.len() { b[e] == b'*' } else { !right };
        if before_open || after_open {
            continue; // the URL token may be longer than this piece
        }
        out.push(body[a..e].to_string());
    }
    out
}

/// (kinds, match_case) for a filter's ``$`` options, or the reason it is dropped.
pub fn parse_options(opts: &str) -> Result<(u16, bool), String> {
    let (mut include, mut exclude, mut match_case) = (0u16, 0u16, false);
    for raw in opts.split(',') {
        let opt = pycompat::strip(raw).to_lowercase();
        let neg = opt.starts_with('~');
        let bare = opt.trim_start_matches('~');
        let (name, value) = bare.split_once('=').unwrap_or((bare, ""));
        match name {
            "third-party" | "3p" => {
                if neg {
                    return Err("~third-party: every load in mail is third-party to the reader".into());
                }
                continue;
            }
            "first-party" | "1p" => {
                if !neg {
                    return Err("first-party: every load in mail is third-party to the reader".into());
                }
                continue;
            }
            "domain" => {
                if value.split('|').any(|d| !d.is_empty() && !d.starts_with('~')) {
                    return Err("domain=: limited to pages on named sites; a message has no site".into());
                }
                continue;
            }
            "match-case" => {
                match_case = true;
                continue;
            }
            "important" => continue,
            _ => {}
        }
        if let Some(bits) = type_option(name) {
            if neg { exclude |= bits } else { include |= bits }
            continue;
        }
        if UNSUPPORTED.iter().any(|u| name.starts_with(u)) {
            return Err(format!("${name}: changes requests rather than blocking them (not supported)"));
        }
        return Err(format!("${name}: unknown option"));
    }
    let mut kinds = if include != 0 { include & !NEVER } else { DEFAULT_KINDS };
    kinds &= !exclude;
    if kinds == 0 {
        let named: Vec<&str> = opts.split(',')
            .filter(|o| type_option(pycompat::strip(o).trim_start_matches('~')).is_some())
            .collect();
        return Err(format!("${}: only request types mail never makes (no scripts run in mail)", named.join(",")));
    }
    Ok((kinds, match_case))
}

/// What one line is: a filter, a dropped filter with its reason, or nothing (comment, blank).
pub enum Line {
    Loaded(Filter),
    Dropped(String, String),
    Nothing,
}

fn host_chars(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// ``||host^`` and ``||host^$third-party``: most lines of a server list.
fn plain_host_filter(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("||")?;
    let rest = rest.strip_suffix("^$third-party").or_else(|| rest.strip_suffix('^'))?;
    host_chars(rest).then_some(rest)
}

pub fn parse_line(line: &str, list_id: &str, file: &str) -> Line {
    let text = pycompat::strip(line);
    if let Some(host) = plain_host_filter(text) {
        return Line::Loaded(Filter::new(text, list_id, file, DEFAULT_KINDS, false, Some(host.to_string()), "", false));
    }
    if text.is_empty() || text.starts_with('!') || (text.starts_with('[') && text.ends_with(']')) {
        return Line::Nothing;
    }
    let dropped = |why: &str| Line::Dropped(text.to_string(), why.to_string());
    if ["##", "#@#", "#?#", "#$#", "#%#"].iter().any(|sep| text.contains(sep)) {
        return dropped("element hiding: hides parts of web pages, nothing a message loads");
    }
    let exception = text.starts_with("@@");
    let body = if exception { &text[2..] } else { text };
    let (mut pattern, mut opts) = (body, "");
    if let Some(dollar) = body.rfind('$') {
        if dollar > 0 && !(body.starts_with('/') && body.ends_with('/')) {
            pattern = &body[..dollar];
            opts = &body[dollar + 1..];
        }
    }
    if pattern.chars().count() > 2 && pattern.starts_with('/') && pattern.ends_with('/') {
        return dropped("regular-expression filter: not supported (cannot be indexed)");
    }
    if pattern.is_empty() || pattern == "*" || pattern == "|" || pattern == "||" {
        return dropped("matches every URL");
    }
    let (kinds, match_case) = if opts.is_empty() {
        (DEFAULT_KINDS, false)
    } else {
        match parse_options(opts) {
            Ok(k) => k,
            Err(why) => return Line::Dropped(text.to_string(), why),
        }
    };
    let low = pattern.to_lowercase();
    if let Some(host) = low.strip_prefix("||").map(|h| h.strip_suffix('^').unwrap_or(h)) {
        if host_chars(host) && !pattern.contains('*') && !match_case && pattern.ends_with('^') {
            return Line::Loaded(Filter::new(text, list_id, file, kinds, exception, Some(host.to_string()), "",
                                            false));
        }
    }
    Line::Loaded(Filter::new(text, list_id, file, kinds, exception, None, pattern, match_case))
}

/// What one list text gave: loaded filters, dropped ones with reasons, comment lines seen.
#[derive(Default)]
pub struct ParseResult {
    pub loaded: Vec<Filter>,
    pub dropped: Vec<(String, String)>,
    pub comments: usize,
}

/// Parse a whole list (the caller has refused texts that are not filter lists at all).
pub fn parse(text: &str, list_id: &str, file: &str) -> ParseResult {
    let mut res = ParseResult::default();
    for line in pycompat::splitlines(text) {
        match parse_line(line, list_id, file) {
            Line::Nothing => res.comments += !pycompat::strip(line).is_empty() as usize,
            Line::Loaded(mut f) => {
                f.index = res.loaded.len();
                res.loaded.push(f);
            }
            Line::Dropped(t, why) => res.dropped.push((t, why)),
        }
    }
    res
}

/// ``a.b.c`` -> ``a.b.c``, ``b.c``, ``c``: the keys a host is looked up under.
pub fn suffixes(host: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(host).filter(|h| !h.is_empty());
    std::iter::from_fn(move || {
        let cur = rest?;
        // a byte loop: hosts are short, and `str::find` was a tenth of matching a URL
        rest = cur.bytes().position(|b| b == b'.').map(|d| &cur[d + 1..]).filter(|h| !h.is_empty());
        Some(cur)
    })
}

/// Block or exception filters, indexed by host and by token (indexes into ``FilterIndex::filters``).
#[derive(Default)]
struct Bucketed {
    by_host: HashMap<String, Vec<usize>>,
    /// `token_shapes` for the filed hosts: most suffixes of a URL's host ("com", "example.com") are
    /// passed over the same way.
    host_shapes: TokenShapes,
    by_token: HashMap<String, Vec<usize>>,
    /// A bit per (length, first byte, last byte) of the filed tokens: a URL token whose bit is clear
    /// is not filed, and most URL tokens (pieces of ids and base64) are passed over without hashing
    /// them and probing the map.
    token_shapes: TokenShapes,
    untokened: Untokened,
    size: usize,
}

/// Filters with no whole token to be filed under (``%2Fevent.gif%3F``: both ends open), found in
/// one pass over the URL by an automaton over their needles, so that a URL costs the same however
/// many such filters the lists hold (checking each in turn grew with every list added).
#[derive(Default)]
struct Untokened {
    /// The filter each needle belongs to, in the automaton's pattern order.
    filters: Vec<usize>,
    needles: Option<AhoCorasick>,
    /// Filters checked on every URL (an empty needle, or a case-sensitive one beyond ASCII).
    always: Vec<usize>,
}

impl Untokened {
    fn build(all: &[Filter], members: Vec<usize>) -> Untokened {
        // An empty needle is in every URL; a case-sensitive one beyond ASCII may lowercase otherwise
        // alone than inside the URL (a final sigma): both are checked on every URL.
        let (always, filters): (Vec<usize>, Vec<usize>) = members.into_iter()
            .partition(|&i| all[i].needle.is_empty() || (all[i].match_case && !all[i].needle.is_ascii()));
        // lowercased: a case-sensitive needle is then found in the lowered URL whenever it is in the
        // URL (a superset, which `matches` narrows)
        let needles = (!filters.is_empty()).then(|| {
            AhoCorasick::new(filters.iter().map(|&i| all[i].needle.to_lowercase())).expect("literal needles")
        });
        Untokened { filters, needles, always }
    }

    /// The first of these filters (in list order) for the URL, as checking each in turn finds it.
    fn find(&self, all: &[Filter], url: &str, low: &str, kind: u16) -> Option<usize> {
        let fits = |i: usize| all[i].kinds & kind != 0 && all[i].matches(url, low);
        let mut best = self.always.iter().copied().find(|&i| fits(i));
        if let Some(ac) = &self.needles {
            for m in ac.find_overlapping_iter(low) {
                let i = self.filters[m.pattern().as_usize()];
                if best.is_none_or(|b| i < b) && fits(i) {
                    best = Some(i);
                }
            }
        }
        best
    }
}

/// A bit per (length, first byte, last byte) of a set of keys: a text whose bit is clear is not one of
/// them (false positives, never false negatives). Lets a look-up that nearly always misses (a URL's
/// tokens, its host's suffixes) skip hashing and probing the map.
pub(crate) struct TokenShapes(Vec<u64>);

impl Default for TokenShapes {
    fn default() -> Self {
        TokenShapes(vec![0; (1 << 15) / 64])
    }
}

impl TokenShapes {
    fn bit(token: &[u8]) -> usize {
        let (first, last) = match token {
            [] => (0, 0),
            [f, .., l] => (*f, *l),
            [f] => (*f, *f),
        };
        ((token.len() & 31) << 10) | ((first as usize & 31) << 5) | (last as usize & 31)
    }

    pub(crate) fn insert(&mut self, token: &str) {
        let b = Self::bit(token.as_bytes());
        self.0[b / 64] |= 1 << (b % 64);
    }

    pub(crate) fn may_hold(&self, token: &str) -> bool {
        let b = Self::bit(token.as_bytes());
        self.0[b / 64] & (1 << (b % 64)) != 0
    }
}

impl Bucketed {
    fn build(all: &[Filter], members: &[usize]) -> Bucketed {
        let mut b = Bucketed { size: members.len(), ..Default::default() };
        let mut counts: HashMap<String, usize> = HashMap::default();
        let mut toks: HashMap<usize, Vec<String>> = HashMap::default();
        let mut untokened = Vec::new();
        for &i in members {
            if all[i].host.is_none() {
                let t = tokens_of(&all[i].pattern.to_lowercase());
                for x in &t {
                    *counts.entry(x.clone()).or_default() += 1;
                }
                toks.insert(i, t);
            }
        }
        for &i in members {
            if let Some(h) = &all[i].host {
                b.host_shapes.insert(h);
                b.by_host.entry(h.clone()).or_default().push(i);
                continue;
            }
            let t = &toks[&i];
            let mut usable: Vec<&String> =
                t.iter().filter(|x| !COMMON_TOKENS.contains(&x.as_str()) && x.len() > 1).collect();
            if usable.is_empty() {
                usable = t.iter().collect();
            }
            // rarest first, then longest; the first of equals (as Python's min)
            let best = usable.into_iter().min_by_key(|x| (counts[*x], std::cmp::Reverse(x.len())));
            match best {
                Some(tok) => {
                    b.token_shapes.insert(tok);
                    b.by_token.entry(tok.clone()).or_default().push(i)
                }
                None => untokened.push(i),
            }
        }
        b.untokened = Untokened::build(all, untokened);
        b
    }

    fn find(&self, all: &[Filter], url: &str, low: &str, host: &str, kind: u16) -> Option<usize> {
        self.find_gated(all, url, low, host, kind, true)
    }

    /// `find`; `gated`: pass over the URL tokens `token_shapes` rules out, take the shortcuts (a literal
    /// filter is its needle; untokened filters by automaton). False only in the tests: the plain reading.
    fn find_gated(&self, all: &[Filter], url: &str, low: &str, host: &str, kind: u16, gated: bool) -> Option<usize> {
        for s in suffixes(host) {
            if gated && !self.host_shapes.may_hold(s) {
                continue;
            }
            if let Some(v) = self.by_host.get(s) {
                if let Some(&i) = v.iter().find(|&&i| all[i].kinds & kind != 0) {
                    return Some(i);
                }
            }
        }
        // each filed token in URL order (the same URL always cites the same filter)
        for (a, e) in token_spans(low) {
            let token = &low[a..e];
            if gated && !self.token_shapes.may_hold(token) {
                continue;
            }
            if let Some(v) = self.by_token.get(token) {
                if let Some(&i) = v.iter().find(|&&i| all[i].kinds & kind != 0 && if gated {
                    all[i].matches(url, low)
                } else {
                    all[i].matches_by_regex(url, low)
                }) {
                    return Some(i);
                }
            }
        }
        if !gated {
            // the plain reading: every untokened filter in turn, by its regex
            let mut each = self.untokened.always.iter().chain(&self.untokened.filters).copied().collect::<Vec<_>>();
            each.sort_unstable();
            return each.into_iter().find(|&i| all[i].kinds & kind != 0 && all[i].matches_by_regex(url, low));
        }
        self.untokened.find(all, url, low, kind)
    }
}

/// One list to compile: its file, text, the label verdicts cite, and whether its untyped filters mark links.
pub struct ListInput {
    pub file: String,
    pub text: String,
    pub label: String,
    pub links: bool,
}

/// Every loaded list compiled into one index; ``find`` answers in a few map look-ups.
#[derive(Default)]
pub struct FilterIndex {
    pub filters: Vec<Filter>,
    block: Bucketed,
    allow: Bucketed,
}

impl FilterIndex {
    pub fn build(lists: &[ListInput]) -> FilterIndex {
        let mut filters = Vec::new();
        for l in lists {
            for mut f in parse(&l.text, &l.label, &l.file).loaded {
                if l.links && f.kinds == DEFAULT_KINDS {
                    f.kinds |= LINK; // lists of email click trackers apply to links unless a filter names a type
                }
                f.pos = filters.len();
                filters.push(f);
            }
        }
        let (allow, block): (Vec<usize>, Vec<usize>) = (0..filters.len()).partition(|&i| filters[i].exception);
        let block = Bucketed::build(&filters, &block);
        let allow = Bucketed::build(&filters, &allow);
        FilterIndex { filters, block, allow }
    }

    pub fn len(&self) -> usize {
        self.filters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// The first blocking filter for ``url`` (absolute) loaded as ``kind``, unless an exception allows it.
    pub fn find(&self, url: &str, host: &str, kind: u16) -> Option<&Filter> {
        if self.block.size == 0 {
            return None;
        }
        let low = url.to_lowercase();
        self.find_lowered(url, &low, host, kind)
    }

    /// `find` for "https://" + `target` (what the rules call a URL's "host/path?query").
    pub fn find_target(&self, target: &str, host: &str, kind: u16) -> Option<&Filter> {
        if self.block.size == 0 {
            return None;
        }
        let mut url = String::with_capacity(target.len() + 8);
        url.push_str("https://");
        url.push_str(target);
        let low = if url.is_ascii() { url.to_ascii_lowercase() } else { url.to_lowercase() };
        self.find_lowered(&url, &low, host, kind)
    }

    fn find_lowered(&self, url: &str, low: &str, host: &str, kind: u16) -> Option<&Filter> {
        let hit = self.block.find(&self.filters, url, low, host, kind)?;
        if self.allow.size > 0 && self.allow.find(&self.filters, url, low, host, kind).is_some() {
            return None;
        }
        Some(&self.filters[hit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str, links: bool) -> FilterIndex {
        FilterIndex::build(&[ListInput { file: "t.txt".into(), text: text.into(), label: "t".into(), links }])
    }

    fn hit(fs: &FilterIndex, url: &str, kind: &str) -> bool {
        let host = url.split("://").nth(1).unwrap().split(['/', '?', ':']).next().unwrap();
        fs.find(url, host, kind_bit(kind).unwrap()).is_some()
    }

    #[test]
    fn separators_anchors_and_kinds() {
        let fs = one("/pixel^\n||track.example^$image\n@@||track.example/logo.png\n", false);
        assert!(hit(&fs, "https://a.example/pixel?x", "image"));
        assert!(!hit(&fs, "https://a.example/pixels", "image"));
        assert!(hit(&fs, "https://a.track.example/x.gif", "image"));
        assert!(!hit(&fs, "https://track.example/x.css", "stylesheet"));
        assert!(!hit(&fs, "https://track.example/logo.png", "image"));
        assert!(!hit(&fs, "https://a.example/pixel?x", "link"));
        assert!(hit(&one("/click.php?c=", true), "https://n.example/click.php?c=1", "link"));
    }

    #[test]
    fn drops_what_mail_never_does() {
        for (line, why) in [("||t.example^$script,xmlhttprequest", "never makes"), ("||t.example^$domain=a.b", "no site"),
                            ("a.example##.ad", "element hiding"), ("/ads[0-9]+/", "regular-expression")] {
            match parse_line(line, "t", "") {
                Line::Dropped(_, w) => assert!(w.contains(why), "{line}: {w}"),
                _ => panic!("{line} loaded"),
            }
        }
    }

    /// The bundled lists, as the rules load them (links: the e-mail tracker lists).
    fn bundled() -> FilterIndex {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tracker_block/ruledata");
        let lists: Vec<ListInput> = ["easyprivacy_general_emailtrackers.txt", "easyprivacy_trackingservers_general.txt",
            "easyprivacy_trackingservers_international.txt", "easyprivacy_trackingservers_thirdparty.txt",
            "tracker-block-filters.txt"]
            .iter()
            .map(|f| ListInput { file: f.to_string(), text: std::fs::read_to_string(dir.join(f)).expect("list"),
                                 label: f.to_string(), links: f.contains("emailtrackers") || f.starts_with("tracker-block") })
            .collect();
        FilterIndex::build(&lists)
    }

    /// Untokened filters (several; case-sensitive ones; one with an empty needle), literal and
    /// regex ones side by side, allow filters: every shortcut has something to get wrong.
    fn hand_made() -> FilterIndex {
        one("%2Fevent.gif%3F\n%2Fopen.aspx%3F$image\n%2Frw%2Fbeacon_\n-Px.GIF?$match-case\n%2FPx.gif%3F$match-case\nΣ%3F$match-case\n^$font\n\
             /track/open?\n/wf/open*upn=\n||t.example^$image\n|https://pixel.\n.gif?uid=|\n%2Fo.gif&\n_open.\n\
             @@%2Fopen.aspx%3Fok\n@@/track/open?keep\n", true)
    }

    #[test]
    fn shortcuts_and_gates_never_change_an_answer() {
        let hm = hand_made();
        let always = |fs: &FilterIndex, empty: bool| fs.block.untokened.always.iter().any(|&i| fs.filters[i].needle.is_empty() == empty);
        assert!(hm.block.untokened.filters.len() > 3 && always(&hm, true) && always(&hm, false), "the hand-made index lacks a kind");
        for fs in [bundled(), hm] {
            agrees_with_the_plain_reading(&fs);
        }
    }

    fn agrees_with_the_plain_reading(fs: &FilterIndex) {
        let mut urls = crate::judge_corpus::urls();
        urls.extend(crate::judge_corpus::generated(0x51ed_2701, 20_000));
        // URLs made of the filed tokens and of every filter's needle, so that the buckets, the
        // literal shortcut and the untokened automaton are all reached
        let needles: Vec<String> = fs.filters.iter().map(|f| f.needle.clone()).filter(|n| !n.is_empty()).collect();
        let mut filed: Vec<&String> = fs.block.by_token.keys().chain(fs.allow.by_token.keys()).chain(&needles).collect();
        let mut hosts: Vec<&String> = fs.block.by_host.keys().collect();
        hosts.sort();
        filed.sort();
        let mut rng = crate::testrand::XorShift(7);
        for _ in 0..20_000 {
            let mut u = String::from("https://");
            if rng.below(2) == 0 && !hosts.is_empty() {
                u.push_str(["", "a.", "x-1.cdn."][rng.below(3)]);
                u.push_str(hosts[rng.below(hosts.len())]);
                u.push('/');
            }
            for k in 0..1 + rng.below(6) {
                let piece = filed[rng.below(filed.len())];
                u.push_str(&if rng.below(4) == 0 { piece.to_uppercase() } else { piece.to_string() });
                u.push_str(["/", ".", "?", "=", "&", "-", "^"][(k + rng.below(7)) % 7]);
            }
            urls.push(u);
        }
        let (mut hits, mut skipped, mut skipped_hosts) = (0, 0, 0);
        for url in &urls {
            let low = url.to_lowercase();
            let host = crate::urls::parts(url).host;
            skipped += token_spans(&low).filter(|&(a, e)| !fs.block.token_shapes.may_hold(&low[a..e])).count();
            skipped_hosts += suffixes(&host).filter(|s| !fs.block.host_shapes.may_hold(s)).count();
            for kind in [1u16, 2, 4, 1 << 6, LINK] {
                for b in [&fs.block, &fs.allow] {
                    let gated = b.find_gated(&fs.filters, url, &low, &host, kind, true);
                    assert_eq!(gated, b.find_gated(&fs.filters, url, &low, &host, kind, false), "{url} {kind}");
                    hits += gated.is_some() as usize;
                }
            }
        }
        // the gate is exercised both ways: filters found, and most URL tokens passed over
        assert!(hits > 1000 && skipped > 10_000, "{hits} {skipped} {skipped_hosts}");
        assert!(hosts.is_empty() || skipped_hosts > 10_000, "{skipped_hosts}");
        // find_target is find on "https://" + target
        for url in urls.iter().take(30_000) {
            let p = crate::urls::parts(url);
            for kind in [1u16, LINK] {
                assert_eq!(fs.find_target(&p.target, &p.host, kind).map(|f| f.pos),
                           fs.find(&format!("https://{}", p.target), &p.host, kind).map(|f| f.pos), "{url}");
            }
        }
    }

    #[test]
    fn tokens_need_both_bounds() {
        assert_eq!(tokens_of("/track/open?"), vec!["track", "open"]);
        assert_eq!(tokens_of("||cdn.example/px*"), vec!["cdn", "example"]);
    }
}
