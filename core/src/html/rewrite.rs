//! The rewrite operations of `tracker_block/html.py` on the arena DOM: what the engine does to a
//! site once it has decided. Each has the Python function's name and effect, byte for byte in
//! the attribute values it writes.
use std::sync::LazyLock;

use html5ever::tendril::StrTendril;
use html5ever::{local_name, ns, Attribute, LocalName, QualName};
use regex::Regex;

use super::collect::Site;
use super::dom::{attr_name, Document, Element, NodeData, NodeId, Exceeded};
use super::style::{lower, py_strip};

/// A mid grey that both white and black text read on: the stand-in for a removed background
/// image behind light text, when the template set no colour of its own.
pub const FALLBACK_BACKGROUND: &str = "#767676";

/// What to do to one site (the engine's `later` list, in Rust).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Remove,
    RemoveElement,
    SetAttr(String),
    SetCss(String),
    Placeholder(String),
    Unwrap,
    XmpToPre,
    SetComment(String),
}

impl Op {
    /// Element removals go last (after style rewrites and placeholders of the same element).
    fn removes_element(&self, site: &Site) -> bool {
        matches!(self, Op::RemoveElement) || (matches!(self, Op::Remove) && site.attr.is_none())
    }
}

/// Apply every decided operation in the engine's order: all but element removals first, in
/// document order, then the element removals. Fails only when a new node would pass the
/// document's node limit.
pub fn apply_all(doc: &mut Document, ops: &[(&Site, Op)]) -> Result<(), Exceeded> {
    for late in [false, true] {
        for (site, op) in ops {
            if op.removes_element(site) == late {
                apply(doc, site, op)?;
            }
        }
    }
    Ok(())
}

pub fn apply(doc: &mut Document, site: &Site, op: &Op) -> Result<(), Exceeded> {
    match op {
        Op::Remove => remove(doc, site),
        Op::RemoveElement => doc.detach(site.node),
        Op::SetAttr(v) => {
            if let Some(name) = &site.attr {
                set_attr(doc, site.node, name, v);
            }
        }
        Op::SetCss(text) => set_css(doc, site, text)?,
        Op::Placeholder(url) => placeholder(doc, site, url),
        Op::Unwrap => unwrap(doc, site.node),
        Op::XmpToPre => xmp_to_pre(doc, site.node)?,
        Op::SetComment(text) => set_comment(doc, site.node, text),
    }
    Ok(())
}

/// The site's attribute goes, or (element-level sites) the element with its content.
pub fn remove(doc: &mut Document, site: &Site) {
    match &site.attr {
        None => doc.detach(site.node),
        Some(name) => {
            del_attr(doc, site.node, name);
            if name == "background" {
                keep_text_readable(doc, site.node, "");
            }
        }
    }
}

pub fn del_attr(doc: &mut Document, node: NodeId, name: &str) {
    if let Some(e) = doc.element_mut(node) {
        e.attrs.retain(|a| attr_name(a) != name);
    }
}

/// Set an attribute in place, or add it last (as lexbor does).
pub fn set_attr(doc: &mut Document, node: NodeId, name: &str, value: &str) {
    let Some(e) = doc.element_mut(node) else { return };
    match e.attrs.iter_mut().find(|a| attr_name(a) == name) {
        Some(a) => a.value = StrTendril::from_slice(value),
        None => e.attrs.push(Attribute {
            name: QualName::new(None, ns!(), LocalName::from(name)),
            value: StrTendril::from_slice(value),
        }),
    }
}

/// Replace a comment's text (what `set_comment` + `serialize` do in Python through a marker).
pub fn set_comment(doc: &mut Document, node: NodeId, text: &str) {
    if let NodeData::Comment(t) = doc.data_mut(node) {
        // The cleaner works on the comment's text stripped of surrounding whitespace (`collect`):
        // that whitespace goes back around the new text, so `<!-- >…` stays a comment and does not
        // become `<!-->…`, an empty comment followed by markup (found by fuzzing).
        let old: &str = t;
        let lead = &old[..old.len() - old.trim_start_matches(crate::pycompat::is_space).len()];
        let trail = &old[old.trim_end_matches(crate::pycompat::is_space).len().max(lead.len())..];
        let new = format!("{lead}{}{trail}", comment_text(text));
        *t = StrTendril::from_slice(&new);
    }
}

/// `text` as a comment's text that a parser reads back as one comment holding exactly it: no
/// `-->` or `--!>` (removed until none is left: removing one can join another), no `>` or `->`
/// first (the comment would end at once) and no `<!-` last (it would eat the `--` of the end).
pub fn comment_text(text: &str) -> String {
    let mut out = text.to_owned();
    while out.contains("-->") || out.contains("--!>") {
        out = out.replace("-->", "").replace("--!>", "");
    }
    if out.starts_with('>') || out.starts_with("->") {
        out.insert(0, ' ');
    }
    if out.ends_with("<!-") {
        out.push(' ');
    }
    out
}

/// Replace an element by its children (`<noscript>`: its raw text becomes ordinary, escaped text).
pub fn unwrap(doc: &mut Document, node: NodeId) {
    while let Some(c) = doc.node(node).first_child {
        doc.insert_before(node, c);
    }
    doc.detach(node);
}

/// Replace an `<xmp>` by a `<pre>` holding its text (escaped when serialised). Leading newlines go:
/// a parser drops the first one after `<pre>`, so they would shrink on every round.
pub fn xmp_to_pre(doc: &mut Document, node: NodeId) -> Result<(), Exceeded> {
    let text = doc.text_content(node, "");
    let text = text.trim_start_matches(['\r', '\n']);
    let pre = doc.add(NodeData::Element(Element {
        name: QualName::new(None, ns!(html), local_name!("pre")),
        attrs: Vec::new(),
        template_contents: None,
        mathml_annotation_xml_integration_point: false,
    }))?;
    doc.insert_before(node, pre);
    if !text.is_empty() {
        doc.append_text(pre, text)?;
    }
    doc.detach(node);
    Ok(())
}

/// Write back cleaned CSS: a style attribute or CSS-valued attribute, or a `<style>`'s text.
pub fn set_css(doc: &mut Document, site: &Site, text: &str) -> Result<(), Exceeded> {
    match site.css_mode {
        "block" | "value" => {
            let Some(name) = &site.attr else { return Ok(()) };
            if py_strip(text).is_empty() {
                del_attr(doc, site.node, name);
            } else {
                set_attr(doc, site.node, name, text);
            }
            let before = site.css.as_deref().unwrap_or("");
            if name == "style" && lower(before).contains("url(") && !lower(text).contains("url(") {
                keep_text_readable(doc, site.node, before);
            }
        }
        "sheet" => {
            while let Some(c) = doc.node(site.node).first_child {
                doc.detach(c);
            }
            if !text.is_empty() {
                doc.append_text(site.node, text)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// An image replaced by a same-size box with its alt text; the URL kept for click-to-load.
pub fn placeholder(doc: &mut Document, site: &Site, url: &str) {
    let node = site.node;
    for name in ["src", "srcset", "lowsrc", "dynsrc"] {
        del_attr(doc, node, name);
    }
    set_attr(doc, node, "data-tb-src", url);
    set_attr(doc, node, "data-tb-blocked", "remote");
    let style = doc.attr(node, "style").unwrap_or("").to_owned();
    let mut bx = String::from(
        "display:inline-block;box-sizing:border-box;overflow:hidden;vertical-align:top;\
         border:1px dashed #999;color:#666;font:12px sans-serif;background:#f4f4f4;",
    );
    if let Some(w) = site.width.filter(|&w| w > 2.0) {
        bx.push_str(&format!("width:{}px;", w.trunc() as i64));
    }
    if let Some(h) = site.height.filter(|&h| h > 2.0) {
        bx.push_str(&format!("height:{}px;", h.trunc() as i64));
    }
    bx.push_str(&style);
    set_attr(doc, node, "style", &bx);
    if doc.attr(node, "alt").is_none_or(str::is_empty) {
        set_attr(doc, node, "alt", "[remote image blocked]");
    }
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("valid regex")
}

/// `background(-color)?:` followed by a colour (the look-ahead `(?!none|transparent|…)` of the
/// Python pattern is checked by hand).
static BG_COLOR: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)background(?:-color)?\s*:\s*"));
static COLOR_DECL: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)(?:^|;|\s)color\s*:\s*([^;!]+)"));
static SHORTHAND_COLOR: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)background\s*:[^;]*?(#[0-9a-f]{3,8}\b|rgba?\([^)]*\)|hsla?\([^)]*\))")
});
static HEX: LazyLock<Regex> = LazyLock::new(|| re(r"^#([0-9a-f]{3}|[0-9a-f]{6})$"));
static RGB: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+).*\)$"));
static WORD_CHAR: LazyLock<Regex> = LazyLock::new(|| re(r"^\w"));

fn sets_background_colour(style: &str) -> bool {
    BG_COLOR.find_iter(style).any(|m| {
        let rest = &style[m.end()..];
        let low = lower(&rest.chars().take(12).collect::<String>());
        let excluded = ["none", "transparent", "url", "initial", "inherit"].iter().any(|w| low.starts_with(w));
        !excluded && (rest.starts_with(['#', '(']) || WORD_CHAR.is_match(rest))
    })
}

const NAMED_LIGHT: [&str; 16] = [
    "white", "snow", "ivory", "ghostwhite", "whitesmoke", "floralwhite", "azure", "mintcream", "aliceblue",
    "honeydew", "seashell", "linen", "beige", "lightyellow", "lightcyan", "oldlace",
];

fn is_light(value: &str) -> bool {
    let v = lower(py_strip(value));
    if NAMED_LIGHT.contains(&v.as_str()) {
        return true;
    }
    let rgb: [f64; 3] = if let Some(c) = HEX.captures(&v) {
        let h = c[1].as_bytes();
        let hex = |s: &[u8]| u8::from_str_radix(std::str::from_utf8(s).unwrap_or("0"), 16).unwrap_or(0);
        if h.len() == 3 {
            [hex(&[h[0], h[0]]), hex(&[h[1], h[1]]), hex(&[h[2], h[2]])].map(f64::from)
        } else {
            [hex(&h[0..2]), hex(&h[2..4]), hex(&h[4..6])].map(f64::from)
        }
    } else if let Some(c) = RGB.captures(&v) {
        let n = |i: usize| c[i].parse::<f64>().map_or(255.0, |x| x.min(255.0));
        [n(1), n(2), n(3)]
    } else {
        return false;
    };
    let [r, g, b] = rgb.map(|x| x / 255.0);
    0.2126 * r + 0.7152 * g + 0.0722 * b > 0.6
}

/// After a background image is removed: keep the colour the template gave with it (in the
/// `background:` shorthand that went with the URL), else, if the element's text is light, give
/// it a mid-grey background so the text does not vanish.
pub fn keep_text_readable(doc: &mut Document, node: NodeId, before: &str) {
    let style = doc.attr(node, "style").unwrap_or("").to_owned();
    if doc.attr(node, "bgcolor").is_some_and(|v| !v.is_empty()) || sets_background_colour(&style) {
        return;
    }
    if let Some(c) = SHORTHAND_COLOR.captures(before) {
        let value = format!("background-color:{};{style}", &c[1]);
        set_attr(doc, node, "style", &value);
        return;
    }
    let mut colour: Option<String> = None;
    let mut look = |id: NodeId| -> bool {
        let Some(e) = doc.element(id) else { return false };
        let from_style = e
            .attrs
            .iter()
            .find(|a| attr_name(a) == "style")
            .and_then(|a| COLOR_DECL.captures(&a.value).map(|c| c[1].to_owned()));
        let found = from_style.or_else(|| {
            (&*e.name.local == "font")
                .then(|| e.attrs.iter().find(|a| attr_name(a) == "color").map(|a| a.value.to_string()))
                .flatten()
        });
        match found.filter(|c| !c.is_empty()) {
            Some(c) => {
                colour = Some(c);
                true
            }
            None => false,
        }
    };
    if !look(node) {
        let mut order = Vec::new();
        doc.for_each_descendant(node, &mut |id| order.push(id));
        for id in order {
            if look(id) {
                break;
            }
        }
    }
    if colour.as_deref().is_some_and(is_light) {
        let value = format!("background-color:{FALLBACK_BACKGROUND};{style}");
        set_attr(doc, node, "style", &value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{collect, parse, serialize};

    fn run(html: &str, pick: impl Fn(&Site) -> Option<Op>) -> String {
        let mut doc = parse(html).unwrap();
        let (sites, _) = collect(&doc);
        let ops: Vec<(&Site, Op)> = sites.iter().filter_map(|s| pick(s).map(|o| (s, o))).collect();
        apply_all(&mut doc, &ops).unwrap();
        serialize(&doc)
    }

    /// Whatever text a comment is given, the written document reads back with that comment
    /// holding the text set (its surrounding whitespace kept) and nothing around it changed.
    #[test]
    fn a_set_comment_reads_back_as_the_same_comment() {
        let originals = ["", " ", " x ", "\n\t", " >", "x", " <img src=u> "];
        let pieces = ["", ">", "->", "-", "--", "-->", "--!>", "<!-", "<!--", "!", " ", "x", "<img src=u>", "--!", "---->>"];
        let mut checked = 0;
        for original in originals {
            for a in pieces {
                for b in pieces {
                    let text = format!("{a}{b}");
                    let html = format!("<p>a<!--{original}-->b</p>");
                    let mut doc = parse(&html).unwrap();
                    let mut id = None;
                    doc.for_each_descendant(crate::html::dom::DOCUMENT, &mut |n| {
                        if matches!(doc.node(n).data, NodeData::Comment(_)) {
                            id = Some(n);
                        }
                    });
                    let id = id.expect("a comment");
                    set_comment(&mut doc, id, &text);
                    let set = match &doc.node(id).data {
                        NodeData::Comment(t) => t.to_string(),
                        _ => unreachable!(),
                    };
                    let written = serialize(&doc);
                    let again = parse(&written).unwrap();
                    assert_eq!(serialize(&again), written, "{original:?} + {text:?}");
                    let mut texts = vec![];
                    again.for_each_descendant(crate::html::dom::DOCUMENT, &mut |n| {
                        if let NodeData::Comment(t) = &again.node(n).data {
                            texts.push(t.to_string());
                        }
                    });
                    assert_eq!(texts, [set], "{original:?} + {text:?}: {written}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn ops() {
        let out = run(
            r#"<table><tr><td background="x.png" style="color:#fff"></td></tr></table><img src="p.gif" width="600" height="1.5"><noscript><b>n</b></noscript><xmp>
<i>x</i></xmp><!--[if mso]><v:image src="http://t/x"/><![endif]-->"#,
            |s| match s.where_.as_str() {
                "td@background" => Some(Op::Remove),
                "img@src" => Some(Op::Placeholder("p.gif".into())),
                "<noscript>" => Some(Op::Unwrap),
                "<xmp>" => Some(Op::XmpToPre),
                "comment" => Some(Op::SetComment("[if mso]><![endif]".into())),
                _ => None,
            },
        );
        assert!(out.contains(r#"<td style="background-color:#767676;color:#fff">"#), "{out}");
        assert!(out.contains(r#"data-tb-src="p.gif" data-tb-blocked="remote""#), "{out}");
        assert!(out.contains("width:600px;") && !out.contains("height:1px"), "{out}");
        assert!(out.contains("<b>n</b><pre>&lt;i&gt;x&lt;/i&gt;</pre><!--[if mso]><![endif]-->"), "{out}");
    }

    /// The operations that make nodes (a sheet's new text, `<xmp>` to `<pre>`: three nodes here)
    /// fail when the document is at its limit, and only then.
    #[test]
    fn new_nodes_fail_at_the_limit() {
        let html = "<style>a{background:url(x)}</style><xmp>x</xmp>";
        let needed = parse(html).unwrap().node_count();
        for extra in 0..5 {
            let mut doc = crate::html::parse::parse_within(html, needed + extra, usize::MAX, crate::html::parse::Tokens::Ours).unwrap();
            let (sites, _) = collect(&doc);
            let ops: Vec<(&Site, Op)> = sites
                .iter()
                .filter_map(|s| match s.where_.as_str() {
                    "<style>" => Some((s, Op::SetCss("a{}".into()))),
                    "<xmp>" => Some((s, Op::XmpToPre)),
                    _ => None,
                })
                .collect();
            assert_eq!(ops.len(), 2);
            let applied = apply_all(&mut doc, &ops);
            assert_eq!(applied.is_ok(), extra >= 3, "{extra} spare nodes");
            assert!(doc.node_count() <= needed + extra);
            if applied.is_ok() {
                let out = serialize(&doc);
                assert!(out.contains("<style>a{}</style>") && out.contains("<pre>x</pre>"), "{out}");
            }
        }
    }

    #[test]
    fn non_ascii_styles() {
        let out = run(r#"<div background="x" style="background:ééééé€€ url(x);color:#fff">t</div>"#, |s| {
            (s.where_ == "div@background").then_some(Op::Remove)
        });
        assert!(out.contains("ééééé€€"), "{out}");
    }

    #[test]
    fn css_and_removals_last() {
        let out = run(
            r#"<div style="background:#123 url(x.png)"><style>.a{background:url(y)}</style><img src="t" style="background:url(z)"></div>"#,
            |s| match s.where_.as_str() {
                "div@style" => Some(Op::SetCss("".into())),
                "<style>" => Some(Op::SetCss(".a{}".into())),
                "img@style" => Some(Op::SetCss("x:1".into())),
                "img@src" => Some(Op::RemoveElement),
                _ => None,
            },
        );
        assert_eq!(out, r#"<html><head></head><body><div style="background-color:#123;"><style>.a{}</style></div></body></html>"#);
    }
}
