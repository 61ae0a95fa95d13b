//! Every URL site of a parsed document, in document order, exactly as `tracker_block/html.py`'s
//! `collect` finds them (same kinds, `where` labels, policy reasons, sizes and hidden-ness), and
//! whether the document holds mutation-prone markup. It judges nothing.
use std::collections::HashMap;
use std::sync::LazyLock;

use html5ever::Attribute;
use regex::Regex;

use super::dom::{attr_name, Document, NodeData, NodeId, DOCUMENT};
use super::style::{css_in_attr, parse_px, py_space, py_strip, style_flags, style_size, HIDES, MAY_LOAD};
use super::unescape::unescape;

/// One place in the document where a URL loads (`load`) or leads (a link), or an element that
/// goes in every mode (`always`).
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub node: NodeId,
    /// Attribute name; None for element-level sites, `<style>` text and comments.
    pub attr: Option<String>,
    pub kind: &'static str,
    /// "img@src", "style@background", "<style>", "comment", "link[rel=stylesheet]".
    pub where_: String,
    pub url: Option<String>,
    pub load: bool,
    pub always: Option<String>,
    pub css: Option<String>,
    /// "block", "sheet", "value", "comment" or "".
    pub css_mode: &'static str,
    pub srcset: Option<Vec<(String, String)>>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub hidden: bool,
    pub text: String,
}

impl Site {
    fn new(node: NodeId, attr: Option<&str>, kind: &'static str, where_: String) -> Site {
        Site {
            node,
            attr: attr.map(str::to_owned),
            kind,
            where_,
            url: None,
            load: true,
            always: None,
            css: None,
            css_mode: "",
            srcset: None,
            width: None,
            height: None,
            hidden: false,
            text: String::new(),
        }
    }
}

/// Elements removed with their content in every mode, and the report kind for each.
pub fn drop_kind(tag: &str) -> Option<&'static str> {
    Some(match tag {
        "script" => "script",
        "iframe" | "frame" | "frameset" | "noframes" | "portal" | "fencedframe" => "frame",
        "object" | "embed" | "applet" | "noembed" | "template" | "param" | "xml" | "import" => "object",
        "bgsound" => "media",
        "base" => "base",
        _ => return None,
    })
}

const SVG_ANIMATIONS: [&str; 5] = ["set", "animate", "animatemotion", "animatetransform", "animatecolor"];
pub const MUTATION_PRONE_TAGS: [&str; 11] =
    ["svg", "math", "form", "select", "noscript", "xmp", "plaintext", "noembed", "noframes", "template", "textarea"];
/// Elements the parser never nests in their own kind from markup (a start tag closes the open one,
/// or headings each other); the tree holds one inside another only when foster parenting put it
/// there (`<p><table><p>` in quirks mode), and its serialisation re-parses as siblings (found by
/// fuzzing). Such a document is mutation-prone.
const SELF_CLOSING_BY_KIN: [&str; 14] =
    ["p", "a", "li", "dd", "dt", "button", "nobr", "option", "h1", "h2", "h3", "h4", "h5", "h6"];
/// Elements whose start tag closes an open `<p>` (the spec's "close a p element"): one inside a
/// paragraph got there by foster parenting (`<p><table><h6>` in quirks mode) and re-parses after
/// it. `table` is left out: in quirks mode `<p><table>` nests from markup and re-parses the same.
const CLOSES_P: [&str; 37] = [
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl", "fieldset",
    "figcaption", "figure", "footer", "header", "hgroup", "main", "menu", "nav", "ol", "search", "section",
    "summary", "ul", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "listing", "form", "li", "dd", "dt", "hr",
];
/// Each listed tag's lists as bits: one lookup per element instead of a compare per entry.
const PRONE: u8 = 1;
const BY_KIN: u8 = 2;
const CLOSES_P_BIT: u8 = 4;
const ANIMATION: u8 = 8;
static TAG_BITS: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, u8>> = std::sync::LazyLock::new(|| {
    let mut m = rustc_hash::FxHashMap::default();
    for (list, bit) in [(&MUTATION_PRONE_TAGS[..], PRONE), (&SELF_CLOSING_BY_KIN[..], BY_KIN), (&CLOSES_P[..], CLOSES_P_BIT),
                        (&SVG_ANIMATIONS[..], ANIMATION)] {
        for tag in list {
            *m.entry(*tag).or_insert(0) |= bit;
        }
    }
    m
});
pub const LINK_TAGS: [&str; 2] = ["a", "area"];
pub const VML_LINK_SHAPES: [&str; 9] =
    ["v:shape", "v:rect", "v:roundrect", "v:oval", "v:line", "v:polyline", "v:arc", "v:curve", "v:group"];
const MEDIA_TAGS: [&str; 4] = ["video", "audio", "track", "bgsound"];
const IMG_LIKE: [&str; 3] = ["img", "image", "input"];
const SAFE_META: [&str; 3] = ["content-type", "content-language", "x-ua-compatible"];

const URL_ATTR: u8 = 1;
const EVENT_HANDLER: u8 = 2;
const SVG_URL_ATTR: u8 = 4;

const URL_ATTRS: &str = "src lowsrc dynsrc background poster data codebase archive manifest icon profile href \
    xlink:href action formaction ping srcdoc srcset imagesrcset longdesc classid";
const EVENT_HANDLERS: &str = "onabort onafterprint onanimationend onanimationiteration onanimationstart onauxclick
onbeforeinput onbeforematch onbeforeprint onbeforetoggle onbeforeunload onbegin onblur oncancel oncanplay
oncanplaythrough onchange onclick onclose oncontextlost oncontextmenu oncontextrestored oncopy oncuechange oncut
ondblclick ondrag ondragend ondragenter ondragleave ondragover ondragstart ondrop ondurationchange onemptied onend
onended onerror onfocus onfocusin onfocusout onformdata onfullscreenchange onhashchange oninput oninvalid onkeydown
onkeypress onkeyup onlanguagechange onload onloadeddata onloadedmetadata onloadstart onmessage onmessageerror
onmousedown onmouseenter onmouseleave onmousemove onmouseout onmouseover onmouseup onmousewheel onoffline ononline
onpagehide onpagereveal onpageshow onpageswap onpaste onpause onplay onplaying onpointercancel onpointerdown
onpointerenter onpointerleave onpointermove onpointerout onpointerover onpointerrawupdate onpointerup onpopstate
onprogress onratechange onrejectionhandled onrepeat onreset onresize onscroll onscrollend onsearch onsecuritypolicyviolation
onseeked onseeking onselect onselectionchange onselectstart onshow onslotchange onstalled onstorage onsubmit onsuspend
ontimeupdate ontoggle ontouchcancel ontouchend ontouchmove ontouchstart ontransitioncancel ontransitionend
ontransitionrun ontransitionstart onunhandledrejection onunload onvolumechange onwaiting onwebkitanimationend
onwebkitanimationiteration onwebkitanimationstart onwebkittransitionend onwheel onzoom onactivate onfocusin";
const SVG_URL_ATTRS: &str =
    "fill stroke filter mask clip-path marker marker-start marker-mid marker-end cursor color-profile src";

/// FNV-1a: attribute names are short, and SipHash's DoS resistance buys nothing on a fixed table.
#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

pub type FnvMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;
pub type FnvSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<Fnv>>;

/// Attribute name -> URL_ATTR | EVENT_HANDLER | SVG_URL_ATTR bits (absent: inert).
static FAST_KEYS: LazyLock<FnvMap<&'static str, u8>> = LazyLock::new(|| {
    let mut m = FnvMap::default();
    for (list, bit) in [(URL_ATTRS, URL_ATTR), (EVENT_HANDLERS, EVENT_HANDLER), (SVG_URL_ATTRS, SVG_URL_ATTR)] {
        for name in list.split_whitespace() {
            *m.entry(name).or_insert(0) |= bit;
        }
    }
    m
});

/// URL attributes that go in every mode: name -> (report kind, policy reason).
fn always_attr(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "ping" => ("ping", "policy:no-ping"),
        "action" | "formaction" => ("form", "policy:no-form-action"),
        "manifest" => ("manifest", "policy:no-manifest"),
        "codebase" => ("object", "policy:no-codebase"),
        "archive" => ("object", "policy:no-archive"),
        "classid" => ("object", "policy:no-classid"),
        "profile" => ("object", "policy:no-profile"),
        "longdesc" => ("object", "policy:no-longdesc"),
        _ => return None,
    })
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

static ANIMATED_URL_ATTRS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)href|src|style|fill|stroke|filter|mask|clip-path|cursor|marker|^\s*on"));
static NOT_URL_SHAPED: LazyLock<Regex> = LazyLock::new(|| re("[()'\"\\\\;<>\n\r\x0c]"));
static REFRESH_URL: LazyLock<Regex> = LazyLock::new(|| re(r#"(?i)url\s*=\s*['"]?([^'"]+)"#));
/// A URL in comment text; `http:host` and `http:\host` load too (WHATWG URL).
pub static URL_IN_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?i)((?:https?:)?[\\/]{2}[^\s"'<>()]+|https?:[\\/]?[^\s"'<>()\\/][^\s"'<>()]*)"#)
});
/// Python's COMMENT_SCRIPT without its look-behind `(?<![\w-])`, which `next_script_hook` checks by
/// hand (the regex crate has none): script hooks, or `<base`.
static COMMENT_SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?:(?:java|vb|live)script\s*:|expression\s*\(|(?:-ms-)?behavior\s*:|-moz-binding\s*:)|<\s*base\b")
});
static CSS_ESCAPE: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)\\(?:([0-9a-fA-F]{1,6})[ \t\r\n\x0c]?|(.))"));
static CSS_COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)/\*.*?(?:\*/|\z)"));
static WORD: LazyLock<Regex> = LazyLock::new(|| re(r"^\w$"));

const COMMENT_SCRIPT_HINTS: [&str; 8] = ["script", "ession", "behavior", "binding", "&#", "\\", "/*", "base"];

/// The first COMMENT_SCRIPT match at or after `at`: a script hook not preceded by a word character
/// or '-', or `<base`.
pub fn next_script_hook(text: &str, mut at: usize) -> Option<std::ops::Range<usize>> {
    while let Some(m) = COMMENT_SCRIPT.find_at(text, at) {
        let before = text[..m.start()].chars().next_back();
        let blocked = !m.as_str().starts_with('<')
            && before.is_some_and(|c| c == '-' || WORD.is_match(c.encode_utf8(&mut [0; 4])));
        if !blocked {
            return Some(m.range());
        }
        at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// COMMENT_SCRIPT.search.
pub fn comment_script_match(low: &str) -> bool {
    next_script_hook(low, 0).is_some()
}

/// Could this comment run script in a client that reads it as markup (IE, Outlook)? Entities,
/// CSS escapes and CSS comments are undone first, as IE did.
pub fn comment_runs_script(content: &str) -> bool {
    let low = content.to_lowercase();
    if !COMMENT_SCRIPT_HINTS.iter().any(|h| low.contains(h)) {
        return false;
    }
    if low.contains('&') || low.contains('\\') || low.contains("/*") {
        let unescaped = unescape(&low);
        let no_comments = CSS_COMMENT.replace_all(&unescaped, "");
        let decoded = CSS_ESCAPE.replace_all(&no_comments, |c: &regex::Captures| match c.get(1) {
            Some(hex) => match u32::from_str_radix(hex.as_str(), 16) {
                Ok(n) if n > 0 && n < 0x110000 => char::from_u32(n).unwrap_or('\u{fffd}').to_string(),
                _ => String::new(),
            },
            None => c.get(2).map_or(String::new(), |m| m.as_str().to_owned()),
        });
        return comment_script_match(&decoded);
    }
    comment_script_match(&low)
}

/// Does a comment hold a URL that only character references reveal (h&#116;tp:&#47;&#47;host)?
pub fn comment_hides_url(content: &str) -> bool {
    if !content.contains('&') {
        return false;
    }
    let seen: std::collections::HashSet<String> =
        URL_IN_COMMENT.find_iter(content).map(|m| unescape(m.as_str()).into_owned()).collect();
    let decoded = unescape(content);
    let hides = URL_IN_COMMENT.find_iter(&decoded).any(|m| !seen.contains(m.as_str()));
    hides
}

/// srcset candidates as the HTML spec splits them: URL up to whitespace, descriptors to the comma.
pub fn parse_srcset(value: &str) -> Vec<(String, String)> {
    let v: Vec<char> = value.chars().collect();
    let n = v.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        while i < n && (py_space(v[i]) || v[i] == ',') {
            i += 1;
        }
        let start = i;
        while i < n && !py_space(v[i]) {
            i += 1;
        }
        let mut url: String = v[start..i].iter().collect();
        let mut desc = String::new();
        if url.ends_with(',') {
            url = url.trim_end_matches(',').to_owned();
        } else {
            let dstart = i;
            let mut depth: i64 = 0;
            while i < n && (v[i] != ',' || depth != 0) {
                depth += i64::from(v[i] == '(');
                depth -= i64::from(v[i] == ')');
                i += 1;
            }
            let d: String = v[dstart..i].iter().collect();
            desc = py_strip(&d).to_owned();
        }
        if !url.is_empty() {
            out.push((url, desc));
        }
    }
    out
}

fn get<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a str> {
    attrs.iter().find(|a| attr_name(a) == name).map(|a| &*a.value)
}

/// `a or b or …` over attribute values: the first present and non-empty.
fn first_value<'a>(attrs: &'a [Attribute], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| get(attrs, n).filter(|v| !v.is_empty()))
}

/// An image element's size from its width/height attributes and inline style (the smaller).
pub fn element_size(attrs: &[Attribute]) -> (Option<f64>, Option<f64>) {
    size_from(get(attrs, "style"), get(attrs, "width"), get(attrs, "height"))
}

/// `element_size` from the three values themselves (the engine reads them from comment markup too).
pub fn size_from(style: Option<&str>, width: Option<&str>, height: Option<&str>) -> (Option<f64>, Option<f64>) {
    let (sw, sh) = style_size(style);
    let (w, h) = (parse_px(width), parse_px(height));
    let pick = |a: Option<f64>, s: Option<f64>| match (a, s) {
        (None, s) => s,
        (a, None) => a,
        (Some(a), Some(s)) => Some(a.min(s)),
    };
    (pick(w, sw), pick(h, sh))
}

/// The visible text of a link (`<a>`/`<area>`), its text nodes joined by spaces, 200 characters
/// at most: read only when it matters (is this an unsubscribe link?).
pub fn link_text(doc: &Document, site: &Site) -> String {
    match doc.element(site.node) {
        Some(e) if LINK_TAGS.contains(&&*e.name.local) => doc.text_content(site.node, " ").chars().take(200).collect(),
        _ => String::new(),
    }
}

/// A script whose text opens `<!--`: in the parser's escaped script states a `</script>` inside it
/// may not end it, so its serialisation can re-parse with more in the script, or less (found by
/// fuzzing: `<script><!--<script>`). Scripts are always removed; the document is cleaned again.
fn script_escapes(doc: &Document, id: NodeId) -> bool {
    doc.children(id).any(|c| matches!(&doc.node(c).data, NodeData::Text(t) if t.contains("<!--")))
}

/// An HTML element of `tag`'s kind (any heading for a heading) is an ancestor of HTML element `id`
/// within the scope a start tag of `tag` searches (a cell, table, template or foreign element ends
/// it: kin beyond is nested by the parser too).
fn inside_kin(doc: &Document, id: NodeId, tag: &str) -> bool {
    let heading = |t: &str| matches!(t, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
    if doc.html_name(id).is_none() {
        return false;
    }
    for a in doc.ancestors(id) {
        let Some(n) = doc.html_name(a) else { return false };
        let n: &str = n;
        if n == tag || (heading(tag) && heading(n)) {
            return true;
        }
        let ends_scope = matches!(n, "td" | "th" | "caption" | "table" | "template" | "html" | "object" | "marquee" | "applet")
            || (tag == "p" && n == "button")
            || (tag == "li" && matches!(n, "ol" | "ul"))
            || (matches!(tag, "dd" | "dt") && n == "dl")
            || (tag == "option" && matches!(n, "select" | "datalist" | "optgroup"));
        if ends_scope {
            return false;
        }
    }
    false
}

/// Every URL site and always-removed element in document order, and whether the document holds
/// mutation-prone markup (`MUTATION_PRONE_TAGS`, a `[CDATA[` comment).
pub fn collect(doc: &Document) -> (Vec<Site>, bool) {
    let mut sites = Vec::new();
    let mut prone = false;
    // (node, inside a hidden container): pre-order, children pushed last-first.
    let mut stack: Vec<(NodeId, bool)> = vec![(DOCUMENT, false)];
    // A template repeats its inline styles (60 % of them on gen.py bodies): each read once.
    let mut styles: rustc_hash::FxHashMap<&str, u8> = rustc_hash::FxHashMap::default();
    while let Some((id, hidden_above)) = stack.pop() {
        let node = doc.node(id);
        let mut hidden = hidden_above;
        match &node.data {
            NodeData::Comment(text) => {
                // As selectolax's `comment_content` reads it: surrounding whitespace stripped.
                let content = py_strip(text);
                if content.chars().take(7).collect::<String>().to_uppercase() == "[CDATA[" {
                    prone = true;
                }
                comment_site(id, content, &mut sites);
            }
            NodeData::Element(e) => {
                hidden = element(doc, id, &e.name.local, &e.attrs, hidden_above, &mut sites, &mut prone, &mut styles);
            }
            // A doctype that put the parser in quirks mode (`HTML 4.01 Transitional` without its
            // URL, or a malformed one) is written back as `<!DOCTYPE html>`, which does not: the
            // re-parse is in no-quirks mode, where `<table>` closes an open `<p>`.
            NodeData::Doctype { name } if doc.quirks && name.eq_ignore_ascii_case("html") => prone = true,
            _ => {}
        }
        let mut child = node.last_child;
        while let Some(c) = child {
            if !matches!(doc.node(c).data, NodeData::Text(_)) {
                stack.push((c, hidden));
            }
            child = doc.node(c).prev;
        }
    }
    (sites, prone)
}

fn comment_site(id: NodeId, content: &str, sites: &mut Vec<Site>) {
    let low = content.to_lowercase();
    let url_like = (content.contains("//") || content.contains('\\') || low.contains("tp:"))
        && URL_IN_COMMENT.is_match(content);
    if url_like || comment_runs_script(content) || (content.contains("&#") && comment_hides_url(content)) {
        let mut s = Site::new(id, None, "image", "comment".to_owned());
        s.css = Some(content.to_owned());
        s.css_mode = "comment";
        sites.push(s);
    }
}

/// One element's sites; returns whether what is inside it is hidden. `styles`: the flags of the
/// inline styles read so far.
#[allow(clippy::too_many_arguments)]
fn element<'d>(
    doc: &'d Document,
    id: NodeId,
    tag: &str,
    attrs: &'d [Attribute],
    hidden_above: bool,
    sites: &mut Vec<Site>,
    prone: &mut bool,
    styles: &mut rustc_hash::FxHashMap<&'d str, u8>,
) -> bool {
    let bits = TAG_BITS.get(tag).copied().unwrap_or(0);
    if bits & PRONE != 0
        || (bits & BY_KIN != 0 && inside_kin(doc, id, tag))
        || (bits & CLOSES_P_BIT != 0 && inside_kin(doc, id, "p"))
        || (tag == "script" && script_escapes(doc, id))
    {
        *prone = true;
    }
    if !element_sites(doc, id, tag, bits, attrs, sites) || attrs.is_empty() {
        return hidden_above;
    }
    let mut hidden = hidden_above;
    let has_hidden_attr = attrs.iter().any(|a| a.name.prefix.is_none() && &*a.name.local == "hidden");
    match get(attrs, "style").filter(|s| !s.is_empty()) {
        Some(style) => {
            let flags = *styles.entry(style).or_insert_with(|| style_flags(style));
            if flags & HIDES != 0 || has_hidden_attr {
                hidden = true;
            }
            if flags & MAY_LOAD != 0 {
                let mut s = Site::new(id, Some("style"), "css", format!("{tag}@style"));
                s.css = Some(style.to_owned());
                s.css_mode = "block";
                sites.push(s);
            }
        }
        None => hidden = hidden || has_hidden_attr,
    }
    let mut names: Vec<(&Attribute, u8)> = Vec::new();
    for a in attrs {
        if let Some(&bits) = FAST_KEYS.get(&*attr_name(a)) {
            names.push((a, bits));
        }
    }
    if !names.is_empty() {
        attribute_sites(doc, id, tag, attrs, &names, hidden, sites);
    }
    hidden
}

/// Sites of special elements. Returns false when the element's attributes are not looked at.
fn element_sites(doc: &Document, id: NodeId, tag: &str, bits: u8, attrs: &[Attribute], sites: &mut Vec<Site>) -> bool {
    if let Some(kind) = drop_kind(tag) {
        let mut s = Site::new(id, None, kind, format!("<{tag}>"));
        s.url = first_value(attrs, &["src", "data", "href", "codebase", "archive", "code"]).map(str::to_owned);
        s.always = Some(format!("policy:no-{tag}"));
        sites.push(s);
        return false;
    }
    if bits & ANIMATION != 0 {
        let target = first_value(attrs, &["attributeName", "attributename"]).unwrap_or("");
        let values: Vec<&str> = attrs
            .iter()
            .filter(|a| matches!(attr_name(a).to_lowercase().as_str(), "to" | "from" | "by" | "values"))
            .map(|a| &*a.value)
            .collect();
        let values = values.join(" ");
        let vlow = values.to_lowercase();
        if ANIMATED_URL_ATTRS.is_match(target)
            || vlow.contains("url(")
            || values.contains("//")
            || vlow.contains("script:")
            || vlow.contains("data:")
        {
            let handler = py_strip(target).to_lowercase().starts_with("on");
            let mut s = Site::new(id, None, if handler { "script" } else { "image" }, format!("<{tag}>"));
            let v = py_strip(&values);
            s.url = if handler || v.is_empty() { None } else { Some(v.to_owned()) };
            s.always =
                Some(if handler { "policy:no-handler-animation" } else { "policy:no-url-animation" }.to_owned());
            sites.push(s);
            return false;
        }
    }
    match tag {
        "noscript" => {
            let mut s = Site::new(id, None, "object", "<noscript>".to_owned());
            s.always = Some("policy:unwrap-noscript".to_owned());
            sites.push(s);
            true
        }
        "xmp" => {
            // Raw text to browsers, markup to older parsers inside <select>: written back as <pre>.
            let mut s = Site::new(id, None, "object", "<xmp>".to_owned());
            s.always = Some("policy:xmp-as-pre".to_owned());
            sites.push(s);
            false
        }
        "style" => {
            let mut s = Site::new(id, None, "css", "<style>".to_owned());
            s.css = Some(doc.text_content(id, ""));
            s.css_mode = "sheet";
            sites.push(s);
            true
        }
        "link" => {
            let rel: Vec<String> =
                get(attrs, "rel").unwrap_or("").to_lowercase().split(py_space).filter(|w| !w.is_empty()).map(str::to_owned).collect();
            let has = |w: &str| rel.iter().any(|r| r == w);
            let kind = if has("stylesheet") {
                "stylesheet"
            } else if ["prefetch", "preload", "preconnect", "dns-prefetch", "prerender", "modulepreload"].iter().any(|w| has(w)) {
                "prefetch"
            } else if has("manifest") {
                "manifest"
            } else {
                "link"
            };
            let joined = rel.join(" ");
            let mut s = Site::new(id, None, kind, format!("link[rel={}]", if joined.is_empty() { "?" } else { &joined }));
            s.url = first_value(attrs, &["href", "imagesrcset"]).map(str::to_owned);
            s.always = Some("policy:no-link-element".to_owned());
            sites.push(s);
            false
        }
        "meta" => {
            let equiv = py_strip(get(attrs, "http-equiv").unwrap_or("")).to_lowercase();
            if !equiv.is_empty() && !SAFE_META.contains(&equiv.as_str()) {
                let refresh = equiv == "refresh";
                let content = get(attrs, "content").unwrap_or("");
                let mut s = Site::new(id, None, if refresh { "refresh" } else { "meta" }, format!("meta[http-equiv={equiv}]"));
                if refresh {
                    s.url = REFRESH_URL.captures(content).map(|c| py_strip(&c[1]).to_owned());
                }
                s.always = Some(format!("policy:no-meta-{}", equiv.replace(' ', "-")));
                sites.push(s);
            }
            false
        }
        _ => true,
    }
}

/// Sites of one element's URL attributes, event handlers and CSS-valued (SVG) attributes.
fn attribute_sites(
    doc: &Document,
    id: NodeId,
    tag: &str,
    attrs: &[Attribute],
    names: &[(&Attribute, u8)],
    hidden: bool,
    sites: &mut Vec<Site>,
) {
    for &(a, bits) in names {
        let name = attr_name(a);
        let name: &str = &name;
        let value: &str = &a.value;
        let where_ = || format!("{tag}@{name}");
        if bits & URL_ATTR == 0 {
            if bits & EVENT_HANDLER != 0 {
                let mut s = Site::new(id, Some(name), "script", where_());
                s.always = Some("policy:no-event-handlers".to_owned());
                sites.push(s);
            } else if value.contains('(') && css_in_attr(value) {
                let mut s = Site::new(id, Some(name), "css", where_());
                s.css = Some(value.to_owned());
                s.css_mode = "value";
                sites.push(s);
            }
            continue;
        }
        if name == "href" || name == "xlink:href" {
            if LINK_TAGS.contains(&tag) || VML_LINK_SHAPES.contains(&tag) {
                let mut s = Site::new(id, Some(name), "link", where_());
                s.url = Some(value.to_owned());
                s.load = false;
                sites.push(s);
                continue;
            }
            if value.trim_start_matches(py_space).starts_with('#') {
                continue; // same-document reference (SVG <use href="#id">)
            }
        } else if let Some((kind, reason)) = always_attr(name) {
            let mut s = Site::new(id, Some(name), kind, where_());
            s.url = Some(value.to_owned());
            s.always = Some(reason.to_owned());
            sites.push(s);
            continue;
        } else if name == "srcset" || name == "imagesrcset" {
            let mut s = Site::new(id, Some(name), "image", where_());
            s.srcset = Some(parse_srcset(value));
            s.hidden = hidden;
            if IMG_LIKE.contains(&tag) {
                (s.width, s.height) = element_size(attrs);
            }
            sites.push(s);
            continue;
        } else if name == "background" && NOT_URL_SHAPED.is_match(py_strip(value)) {
            let mut s = Site::new(id, Some(name), "image", where_());
            s.url = Some(value.to_owned());
            s.always = Some("policy:background-not-a-url".to_owned());
            sites.push(s);
            continue;
        } else if name == "srcdoc" {
            let mut s = Site::new(id, Some(name), "frame", where_());
            s.always = Some("policy:no-srcdoc".to_owned());
            sites.push(s);
            continue;
        }
        let in_picture = doc.node(id)
            .parent
            .and_then(|p| doc.element(p))
            .is_some_and(|e| &*e.name.local == "picture");
        let media = (MEDIA_TAGS.contains(&tag) && name != "poster") || (tag == "source" && !in_picture);
        let mut s = Site::new(id, Some(name), if media { "media" } else { "image" }, where_());
        s.url = Some(value.to_owned());
        s.hidden = hidden;
        if matches!(name, "src" | "lowsrc" | "dynsrc") && (IMG_LIKE.contains(&tag) || tag.starts_with("v:")) {
            (s.width, s.height) = element_size(attrs);
            s.hidden = hidden || get(attrs, "type").unwrap_or("").to_lowercase() == "hidden";
            s.text = get(attrs, "alt").unwrap_or("").to_owned();
        }
        sites.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::parse;

    fn wheres(html: &str) -> Vec<String> {
        collect(&parse(html).unwrap()).0.into_iter().map(|s| s.where_).collect()
    }

    #[test]
    fn finds_sites_in_order() {
        let w = wheres(
            r##"<!--[if mso]><v:image src="https://t.example/p.gif"/><![endif]--><body background="x.png">
            <img src="a.png" srcset="b.png 2x, c.png" onclick="x()"><a href="https://l.example/">l</a>
            <div style="background:url(d.png)"><svg><use href="#i"/><rect fill="url(https://e/x)"/></svg></div>"##,
        );
        assert_eq!(
            w,
            ["comment", "body@background", "img@src", "img@srcset", "img@onclick", "a@href", "div@style", "rect@fill"]
        );
    }

    /// A paragraph (or a heading, a div, a list: anything whose start tag closes a `<p>`)
    /// foster-parented into a paragraph (quirks mode: `<table>` leaves the `<p>` open) re-parses
    /// outside it: the document is mutation-prone. What the parser itself nests is not. So is a
    /// document whose doctype set quirks mode but is written back as one that does not.
    #[test]
    fn kin_nested_by_foster_parenting_is_prone() {
        let prone = [
            "<p><table><p>", "<a href=1><table><a href=2>x", "<h1><table><h2>x", "<li><table><li>x", "<p><table><h6>",
            "<p><table><div>x", "<p><table><ul><li>x", "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"><p><table>",
            "<!DOCTYPEhtml \"><p><table>", "<script><!--<script>",
        ];
        for html in prone {
            let doc = parse(html).unwrap();
            let out = crate::html::serialize(&doc);
            assert_ne!(crate::html::serialize(&parse(&out).unwrap()), out, "{html} round-trips");
            assert!(collect(&doc).1, "{html}");
        }
        let stable = [
            "<script>x<y</script>", "<!DOCTYPE html><p><table>", "<p><table>",
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\"><p><table>",
            "<!DOCTYPE svg><p><table>", "<p>a<p>b<ul><li>c<li>d</ul>", "<a href=1>x</a><a href=2>y</a>", "<h1>a</h1><h2>b</h2>",
            "<table><tr><td><p>a<table><tr><td><p>b", "<p><table><tr><td><div>x", "<p>a<table>b</table>", "<p><button><div>x",
        ];
        for html in stable {
            assert!(!collect(&parse(html).unwrap()).1, "{html}");
        }
    }

    #[test]
    fn hidden_sizes_and_prone() {
        let (sites, prone) =
            collect(&parse(r#"<div hidden><p><img src=x width=1 height="2px" style="height:1px"></p></div><img src=y>"#).unwrap());
        assert!(!prone);
        assert!(sites[0].hidden && !sites[1].hidden);
        assert_eq!((sites[0].width, sites[0].height), (Some(1.0), Some(1.0)));
        assert!(collect(&parse("<form></form>").unwrap()).1);
        assert!(collect(&parse("<p><![CDATA[x]]>").unwrap()).1);
    }

    #[test]
    fn srcset_split() {
        assert_eq!(
            parse_srcset("a.png 1x,b.png, c,d.png (x, y) 2w"),
            vec![
                ("a.png".into(), "1x".into()),
                ("b.png".into(), "".into()),
                ("c,d.png".into(), "(x, y) 2w".into())
            ]
        );
    }

    #[test]
    fn comment_checks() {
        assert!(comment_runs_script("<a href=java&#115;cript:x>"));
        assert!(!comment_runs_script("x-javascript:1"));
        assert!(comment_runs_script("a {x: expression(1)}"));
        assert!(comment_hides_url("<img src=h&#116;tp://t.example/p>"));
        assert!(!comment_hides_url("<img src=http://t.example/p?a&amp;b>"));
    }
}
