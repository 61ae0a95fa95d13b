//! Python's `html.unescape`, exactly (HTML5 named references with their no-semicolon legacy
//! forms and longest-prefix matching, numeric references with the spec's replacements), for the
//! comment checks that must read a comment as a client reading it as markup would.
use html5ever::data::NAMED_ENTITIES;

fn invalid_charref(n: u32) -> Option<&'static str> {
    Some(match n {
        0x00 => "\u{fffd}",
        0x0d => "\r",
        0x80 => "\u{20ac}",
        0x81 => "\u{81}",
        0x82 => "\u{201a}",
        0x83 => "\u{0192}",
        0x84 => "\u{201e}",
        0x85 => "\u{2026}",
        0x86 => "\u{2020}",
        0x87 => "\u{2021}",
        0x88 => "\u{02c6}",
        0x89 => "\u{2030}",
        0x8a => "\u{0160}",
        0x8b => "\u{2039}",
        0x8c => "\u{0152}",
        0x8d => "\u{8d}",
        0x8e => "\u{017d}",
        0x8f => "\u{8f}",
        0x90 => "\u{90}",
        0x91 => "\u{2018}",
        0x92 => "\u{2019}",
        0x93 => "\u{201c}",
        0x94 => "\u{201d}",
        0x95 => "\u{2022}",
        0x96 => "\u{2013}",
        0x97 => "\u{2014}",
        0x98 => "\u{02dc}",
        0x99 => "\u{2122}",
        0x9a => "\u{0161}",
        0x9b => "\u{203a}",
        0x9c => "\u{0153}",
        0x9d => "\u{9d}",
        0x9e => "\u{017e}",
        0x9f => "\u{0178}",
        _ => return None,
    })
}

fn invalid_codepoint(n: u32) -> bool {
    matches!(n, 0x1..=0x8 | 0xb | 0xe..=0x1f | 0x7f..=0x9f | 0xfdd0..=0xfdef) || (n & 0xfffe) == 0xfffe
}

fn named(name: &str) -> Option<(u32, u32)> {
    NAMED_ENTITIES.get(name).copied().filter(|&(a, _)| a != 0)
}

fn push_cp(out: &mut String, a: u32, b: u32) {
    out.extend(char::from_u32(a));
    if b != 0 {
        out.extend(char::from_u32(b));
    }
}

/// Decode character references as Python's `html.unescape` does.
pub fn unescape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let consumed = reference(after, &mut out);
        match consumed {
            Some(n) => rest = &after[n..],
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Decode one reference at the start of `s` (just after '&'); bytes consumed, or None: not one.
fn reference(s: &str, out: &mut String) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() == Some(&b'#') {
        let hex = matches!(b.get(1), Some(b'x' | b'X'));
        let start = if hex { 2 } else { 1 };
        let mut i = start;
        while i < b.len() && (if hex { b[i].is_ascii_hexdigit() } else { b[i].is_ascii_digit() }) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = &s[start..i];
        let num = u32::from_str_radix(digits.trim_start_matches('0'), if hex { 16 } else { 10 })
            .ok()
            .or(if digits.trim_start_matches('0').is_empty() { Some(0) } else { None });
        let end = if b.get(i) == Some(&b';') { i + 1 } else { i };
        match num {
            Some(n) => {
                if let Some(r) = invalid_charref(n) {
                    out.push_str(r);
                } else if (0xd800..=0xdfff).contains(&n) || n > 0x10ffff {
                    out.push('\u{fffd}');
                } else if !invalid_codepoint(n) {
                    out.extend(char::from_u32(n));
                }
            }
            None => out.push('\u{fffd}'), // more digits than a u32 holds: > 0x10FFFF
        }
        return Some(end);
    }
    // [^\t\n\f <&#;]{1,32};?
    let mut end = 0;
    let mut count = 0;
    for (i, c) in s.char_indices() {
        if count == 32 || matches!(c, '\t' | '\n' | '\x0c' | ' ' | '<' | '&' | '#' | ';') {
            break;
        }
        end = i + c.len_utf8();
        count += 1;
    }
    if count == 0 {
        return None;
    }
    if s.as_bytes().get(end) == Some(&b';') {
        end += 1;
    }
    let name = &s[..end];
    if let Some((a, b2)) = named(name) {
        push_cp(out, a, b2);
        return Some(end);
    }
    // The longest prefix (at least 2 characters) that is a reference; the rest stays as written.
    let bounds: Vec<usize> = name.char_indices().map(|(i, _)| i).skip(2).collect();
    for &x in bounds.iter().rev() {
        if let Some((a, b2)) = named(&name[..x]) {
            push_cp(out, a, b2);
            out.push_str(&name[x..]);
            return Some(end);
        }
    }
    out.push('&');
    out.push_str(name);
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn like_python() {
        assert_eq!(unescape("h&#116;tp:&#47;&#x2F;x"), "http://x");
        assert_eq!(unescape("&amp;&ampx&notit;&#0;&#128;&#x110000;&#1;&"), "&&x¬it;\u{fffd}€\u{fffd}&");
        assert_eq!(unescape("&bogus; &#; &#xZ"), "&bogus; &#; &#xZ");
    }
}
