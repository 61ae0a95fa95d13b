//! The HTML serialisation algorithm (HTML spec, "serializing HTML fragments") over the arena.
//!
//! Attribute values escape `<` and `>` too (as browsers now do), so no attribute can be read as
//! markup by a parser that disagrees with ours about where a tag ends.
use html5ever::{local_name, ns};

use super::dom::{is_raw_text, Document, NodeData, NodeId, DOCUMENT};

fn is_void(name: &html5ever::QualName) -> bool {
    name.ns == ns!(html)
        && matches!(
            name.local,
            local_name!("area")
                | local_name!("base")
                | local_name!("basefont")
                | local_name!("bgsound")
                | local_name!("br")
                | local_name!("col")
                | local_name!("embed")
                | local_name!("frame")
                | local_name!("hr")
                | local_name!("img")
                | local_name!("input")
                | local_name!("keygen")
                | local_name!("link")
                | local_name!("meta")
                | local_name!("param")
                | local_name!("source")
                | local_name!("track")
                | local_name!("wbr")
        )
}

fn escape(out: &mut String, text: &str, attr: bool) {
    // Byte scan: the characters to escape are ASCII, and U+00A0 is the UTF-8 pair C2 A0 (a C2 byte
    // never ends a character, so slicing at it or after its pair stays on a boundary).
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rep = match bytes[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' if attr => "&quot;",
            0xC2 if bytes.get(i + 1) == Some(&0xA0) => "&nbsp;",
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&text[start..i]);
        out.push_str(rep);
        i += if bytes[i] == 0xC2 { 2 } else { 1 };
        start = i;
    }
    out.push_str(&text[start..]);
}

/// The whole document as HTML.
pub fn serialize(doc: &Document) -> String {
    let mut out = String::with_capacity(doc.nodes.len() * 24);
    children(doc, DOCUMENT, &mut out);
    out
}

fn children(doc: &Document, parent: NodeId, out: &mut String) {
    // Iterative over the element stack: hostile mail nests deeply enough to exhaust a thread's stack.
    let mut stack: Vec<(NodeId, Option<NodeId>)> = vec![(parent, doc.nodes[parent].first_child)];
    while let Some(top) = stack.last_mut() {
        let (owner, cur) = *top;
        let Some(id) = cur else {
            stack.pop();
            close(doc, owner, out);
            continue;
        };
        top.1 = doc.nodes[id].next;
        match &doc.nodes[id].data {
            NodeData::Element(e) => {
                out.push('<');
                out.push_str(&e.name.local);
                for a in &e.attrs {
                    out.push(' ');
                    match a.name.ns {
                        ns!(xml) => out.push_str("xml:"),
                        ns!(xmlns) if a.name.local != local_name!("xmlns") => out.push_str("xmlns:"),
                        ns!(xlink) => out.push_str("xlink:"),
                        _ => {}
                    }
                    out.push_str(&a.name.local);
                    out.push_str("=\"");
                    escape(out, &a.value, true);
                    out.push('"');
                }
                out.push('>');
                if is_void(&e.name) {
                    continue;
                }
                let first = match e.template_contents {
                    Some(frag) => doc.nodes[frag].first_child,
                    None => doc.nodes[id].first_child,
                };
                if e.name.ns == ns!(html)
                    && matches!(e.name.local, local_name!("pre") | local_name!("textarea") | local_name!("listing"))
                {
                    // A parser drops one newline right after these start tags: write one so a leading
                    // newline of the text survives the round trip.
                    if let Some(NodeData::Text(t)) = first.map(|f| &doc.nodes[f].data) {
                        if t.starts_with('\n') {
                            out.push('\n');
                        }
                    }
                }
                stack.push((id, first));
            }
            NodeData::Text(t) => {
                let raw = doc.nodes[id].parent.and_then(|p| doc.element(p)).is_some_and(|e| is_raw_text(&e.name));
                if raw {
                    out.push_str(t);
                } else {
                    escape(out, t, false);
                }
            }
            NodeData::Comment(t) => {
                out.push_str("<!--");
                out.push_str(t);
                out.push_str("-->");
            }
            NodeData::Doctype { name } => {
                out.push_str("<!DOCTYPE ");
                out.push_str(name);
                out.push('>');
            }
            NodeData::Document | NodeData::Fragment => {}
        }
    }
}

fn close(doc: &Document, id: NodeId, out: &mut String) {
    if let Some(e) = doc.element(id) {
        out.push_str("</");
        out.push_str(&e.name.local);
        out.push('>');
    }
}
