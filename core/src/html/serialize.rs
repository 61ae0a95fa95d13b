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
    // The characters to escape are ASCII, and U+00A0 is the UTF-8 pair C2 A0 (a C2 byte never ends
    // a character, so slicing at it or after its pair stays on a boundary). Found with memchr (two
    // scanners, each advanced only past what it found): text in mail is long and rarely escaped.
    // Beyond the spec's serialiser, a CR (only a character reference makes one) is written `&#13;`:
    // written raw, a re-parse would read it as a line feed, and the output would not be a fixed point.
    let b = text.as_bytes();
    let other = |from: usize| -> Option<usize> {
        let rest = &b[from..];
        if attr { memchr::memchr3(b'"', 0xC2, b'\r', rest) } else { memchr::memchr2(0xC2, b'\r', rest) }.map(|p| p + from)
    };
    let mut markup = memchr::memchr3(b'&', b'<', b'>', b);
    let mut odd = other(0);
    let mut start = 0;
    loop {
        let i = match (markup, odd) {
            (Some(x), Some(y)) => x.min(y),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => break,
        };
        let (rep, len) = match b[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\r' => ("&#13;", 1),
            0xC2 if b.get(i + 1) == Some(&0xA0) => ("&nbsp;", 2),
            _ => ("", 0), // a C2 that starts another character
        };
        if len > 0 {
            out.push_str(&text[start..i]);
            out.push_str(rep);
            start = i + len;
        }
        let next = i + len.max(1);
        if markup == Some(i) {
            markup = memchr::memchr3(b'&', b'<', b'>', &b[next..]).map(|p| p + next);
        }
        if odd.is_some_and(|o| o < next) {
            odd = other(next);
        }
    }
    out.push_str(&text[start..]);
}

/// The whole document as HTML.
pub fn serialize(doc: &Document) -> String {
    serialize_sized(doc, doc.node_count() * 24)
}

/// `serialize` into room for `capacity` bytes: the source's length, when known, is the size of the
/// result to within a few bytes (a 16 MB body otherwise grew its buffer by doubling to 32 MB).
pub fn serialize_sized(doc: &Document, capacity: usize) -> String {
    let mut out = String::with_capacity(capacity);
    children(doc, DOCUMENT, &mut out);
    out
}

fn children(doc: &Document, parent: NodeId, out: &mut String) {
    // Iterative over the element stack: hostile mail nests deeply enough to exhaust a thread's stack.
    let mut stack: Vec<(NodeId, Option<NodeId>)> = vec![(parent, doc.node(parent).first_child)];
    while let Some(top) = stack.last_mut() {
        let (owner, cur) = *top;
        let Some(id) = cur else {
            stack.pop();
            close(doc, owner, out);
            continue;
        };
        top.1 = doc.node(id).next;
        match &doc.node(id).data {
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
                    Some(frag) => doc.node(frag).first_child,
                    None => doc.node(id).first_child,
                };
                if e.name.ns == ns!(html)
                    && matches!(e.name.local, local_name!("pre") | local_name!("textarea") | local_name!("listing"))
                {
                    // A parser drops one newline right after these start tags: write one so a leading
                    // newline of the text survives the round trip.
                    if let Some(NodeData::Text(t)) = first.map(|f| &doc.node(f).data) {
                        if t.starts_with('\n') {
                            out.push('\n');
                        }
                    }
                }
                stack.push((id, first));
            }
            NodeData::Text(t) => {
                let raw = doc.node(id).parent.and_then(|p| doc.element(p)).is_some_and(|e| is_raw_text(&e.name));
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

#[cfg(test)]
mod tests {
    use super::{escape, serialize};

    /// The byte-at-a-time escaper this replaced, kept as the reference.
    fn reference(text: &str, attr: bool) -> String {
        let mut out = String::new();
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' if attr => out.push_str("&quot;"),
                '\u{a0}' => out.push_str("&nbsp;"),
                '\r' => out.push_str("&#13;"),
                c => out.push(c),
            }
        }
        out
    }

    /// A CR made by a character reference is written so that a re-parse reads a CR again.
    #[test]
    fn a_carriage_return_survives_a_second_parse() {
        let out = serialize(&crate::html::parse("<p title='a&#13;b'>x&#13;y&#xD;</p>").unwrap());
        assert!(out.contains("title=\"a&#13;b\">x&#13;y&#13;</p>"), "{out}");
        assert_eq!(serialize(&crate::html::parse(&out).unwrap()), out);
    }

    #[test]
    fn escapes_as_the_spec_serialiser() {
        let pieces = ["a", "&", "<", ">", "\"", "\r", "\u{a0}", "\u{c2}", "\u{100}", "é", "&amp;", " ", "\u{a0}\u{a0}", "x\u{c2}\u{a0}"];
        let mut seed = 7u64;
        for _ in 0..20000 {
            let mut text = String::new();
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            for k in 0..(seed >> 60) {
                text.push_str(pieces[((seed >> (k * 4)) % pieces.len() as u64) as usize]);
            }
            for attr in [false, true] {
                let mut out = String::new();
                escape(&mut out, &text, attr);
                assert_eq!(out, reference(&text, attr), "{text:?} attr={attr}");
            }
        }
    }
}
