//! Which `data:` URLs may stay where something loads: those that can neither run script nor load more.
//!
//! A `data:` URL fetches nothing from the network, but it is a document of its own: an SVG or XML one
//! can carry script, `javascript:` links and further references. Binary image, font and media types
//! are kept; an SVG document is decoded and kept only when it holds nothing that runs or refers
//! elsewhere; every other type (HTML, XML, script, CSS, unknown or malformed ones) goes.

use regex::bytes::Regex;
use regex::Regex as StrRegex;
use std::sync::OnceLock;

pub const SCRIPTABLE_DATA: &str = "policy:scriptable-data-url";

/// Types that cannot run script or refer to anything (their decoders read pixels, glyphs or samples).
fn inert_type() -> &'static StrRegex {
    static RE: OnceLock<StrRegex> = OnceLock::new();
    RE.get_or_init(|| {
        StrRegex::new(
            r"^(?:image/(?:png|x-png|apng|gif|jpe?g|pjpeg|webp|bmp|x-ms-bmp|x-icon|vnd\.microsoft\.icon|avif|tiff)|font/[a-z0-9.+-]+|application/(?:x-)?font-[a-z0-9.+-]+|application/vnd\.ms-fontobject|audio/[a-z0-9.+-]+|video/[a-z0-9.+-]+|text/plain)$",
        )
        .expect("static regex")
    })
}

/// Anything in an SVG document that runs, or reaches outside it (a reference not to "#id" inside it).
/// (`[^#\s"'>]` is the Python pattern's `(?!#)[^\s"'>]`.)
fn svg_risk() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?i-u)<\s*script|<\s*foreignobject|<\s*(?:iframe|embed|object|handler|listener)\b|<!entity|xml-stylesheet|\bon[a-z]+\s*=|(?:java|vb|live)script\s*:|@import|expression\s*\(|(?:href|src)\s*=\s*["']?\s*[^#\s"'>]|url\s*\(\s*["']?\s*[^#\s"')]"#,
        )
        .expect("static regex")
    })
}

fn py_strip(s: &str) -> &str {
    crate::css::py_strip(s)
}

/// urllib's `unquote_to_bytes`: `%XX` decoded, anything else as its UTF-8 bytes.
fn unquote(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Python's lenient `b64decode` of the alphabet characters: None where it raises.
fn b64decode(data: &[u8]) -> Option<Vec<u8>> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            _ => 63,
        }
    };
    let digits: Vec<u8> = data.iter().copied().filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/').collect();
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() / 4 * 3 + 2);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| acc | (val(c) << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

/// None when the (normalised) `data:` URL is inert; otherwise the policy reason it goes.
pub fn unsafe_reason(url: &str) -> Option<&'static str> {
    let rest = match url.char_indices().nth(5) {
        Some((i, _)) => &url[i..],
        None => "",
    };
    let (head, body) = rest.split_once(',')?; // no comma: not a data: URL a browser would load
    let head = head.to_lowercase();
    let params: Vec<&str> = head.split(';').collect();
    let mediatype = match py_strip(params[0]) {
        "" => "text/plain",
        m => m,
    };
    if inert_type().is_match(mediatype) {
        return None;
    }
    if mediatype != "image/svg+xml" {
        return Some(SCRIPTABLE_DATA);
    }
    let mut data = unquote(body);
    if params[1..].iter().any(|p| py_strip(p) == "base64") {
        match b64decode(&data) {
            Some(decoded) => data = decoded,
            None => return Some(SCRIPTABLE_DATA),
        }
    }
    svg_risk().is_match(&data).then_some(SCRIPTABLE_DATA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_and_scriptable() {
        assert_eq!(unsafe_reason("data:image/png;base64,AAAA"), None);
        assert_eq!(unsafe_reason("data:,hello"), None);
        assert_eq!(unsafe_reason("data:text/html,<script>"), Some(SCRIPTABLE_DATA));
        assert_eq!(unsafe_reason("data:image/svg+xml,<svg><circle/></svg>"), None);
        assert_eq!(unsafe_reason("data:image/svg+xml,<svg><use href='#a'/></svg>"), None);
        assert_eq!(unsafe_reason("data:image/svg+xml,<svg><use href='x.svg#a'/></svg>"), Some(SCRIPTABLE_DATA));
        assert_eq!(unsafe_reason("data:image/svg+xml,%3Csvg onload%3Dalert(1)%3E"), Some(SCRIPTABLE_DATA));
        assert_eq!(unsafe_reason("data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"), Some(SCRIPTABLE_DATA));
        assert_eq!(unsafe_reason("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="), None);
        assert_eq!(unsafe_reason("data:image/svg+xml;base64,AAAAA"), Some(SCRIPTABLE_DATA));
        assert_eq!(unsafe_reason("data:image/png"), None);
    }
}
