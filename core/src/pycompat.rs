//! Python's string primitives where Rust's differ: the judge must give the answers the Python
//! engine gave (and the tests pinned), so ``str.strip``, ``str.splitlines`` and
//! ``urllib.parse.unquote`` are reproduced exactly.

/// ``str.isspace`` for one character: Unicode White_Space plus the four ASCII separators
/// (U+001C..U+001F) Python also counts as whitespace.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// ``str.strip()`` with no argument.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// ``str.splitlines()``: \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, U+2028, U+2029 end a line.
pub fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let brk = matches!(c, '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}'
                             | '\u{2028}' | '\u{2029}');
        if brk {
            out.push(&s[start..i]);
            let mut next = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = it.peek() {
                    it.next();
                    next = j + 1;
                }
            }
            start = next;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// ``urllib.parse.unquote`` (UTF-8, errors="replace"): %XX runs decoded, anything else kept.
pub fn unquote(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// ``urllib.parse.parse_qsl(q, keep_blank_values=False)``: pairs with a name and a non-empty value.
pub fn parse_qsl(q: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for piece in q.split('&') {
        if piece.is_empty() {
            continue;
        }
        let Some((k, v)) = piece.split_once('=') else { continue };
        if v.is_empty() {
            continue;
        }
        out.push((unquote(&k.replace('+', " ")), unquote(&v.replace('+', " "))));
    }
    out
}

/// ``binascii.a2b_base64`` in its default (non-strict) mode: characters outside the alphabet are
/// skipped, decoding stops at the padding that completes a group. None where Python raises.
pub fn b64decode_lenient(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut quad, mut left, mut pads) = (0u8, 0u32, 0u8);
    for &c in data {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        } as u32;
        pads = 0;
        match quad {
            0 => {
                quad = 1;
                left = v;
            }
            1 => {
                quad = 2;
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
            }
            2 => {
                quad = 3;
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
            }
            _ => {
                quad = 0;
                out.push(((left << 6) | v) as u8);
                left = 0;
            }
        }
    }
    if quad != 0 {
        return None;
    }
    Some(out)
}

/// ``base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))`` then strict UTF-8, as the wrappers' decoder does.
pub fn urlsafe_b64_text(raw: &str) -> Option<String> {
    if !raw.is_ascii() {
        return None; // Python: "string argument should contain only ASCII characters"
    }
    let pad = (4 - raw.len() % 4) % 4;
    let mut bytes: Vec<u8> = raw.bytes().map(|b| match b {
        b'-' => b'+',
        b'_' => b'/',
        x => x,
    }).collect();
    bytes.extend(std::iter::repeat_n(b'=', pad));
    String::from_utf8(b64decode_lenient(&bytes)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitlines_like_python() {
        assert_eq!(splitlines("a\r\nb\rc\n\nd"), vec!["a", "b", "c", "", "d"]);
        assert_eq!(splitlines("a\n"), vec!["a"]);
        assert_eq!(splitlines("a\u{2028}b\x0cc"), vec!["a", "b", "c"]);
    }

    #[test]
    fn unquote_like_python() {
        assert_eq!(unquote("a%2Fb%zz%"), "a/b%zz%");
        assert_eq!(unquote("%C3%A9%C3"), "é\u{fffd}");
        assert_eq!(unquote("%e2%82%ac"), "€");
    }

    #[test]
    fn base64_lenient_like_python() {
        assert_eq!(urlsafe_b64_text("aHR0cHM6Ly9l").as_deref(), Some("https://e"));
        assert_eq!(urlsafe_b64_text("aHR0c!HM6Ly9l").as_deref(), Some("https://e")); // junk skipped
        assert_eq!(urlsafe_b64_text("aGk=aGk="), Some("hi".to_string()));
        assert!(urlsafe_b64_text("a").is_none());
    }

    #[test]
    fn strip_counts_ascii_separators() {
        assert_eq!(strip("\x1c a \u{3000}"), "a");
    }
}
