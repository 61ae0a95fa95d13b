//! The fast path for inline styles: mail's `style=""` is overwhelmingly a plain `name:value;` list
//! whose only function is `url()`. Such a list's URLs are read straight from the text; tokenising
//! is needed only when one of them must change, or when anything else appears (strings outside
//! url(), escapes, comments, other functions, brackets).

use super::py_space;

fn skip_space(s: &str, i: usize) -> usize {
    let rest = &s[i..];
    i + (rest.len() - rest.trim_start_matches(py_space).len())
}

/// A `url(...)` token at `i` (quoted without escapes, or unquoted): (its URL, end).
fn url_at(s: &str, i: usize) -> Option<(String, usize)> {
    let b = s.as_bytes();
    if b.len() < i + 4 || !b[i..i + 4].eq_ignore_ascii_case(b"url(") {
        return None;
    }
    let mut j = skip_space(s, i + 4);
    let url;
    match b.get(j) {
        Some(&q) if q == b'\'' || q == b'"' => {
            let end = s[j + 1..].find(['\'', '"', '\\', '\n'])? + j + 1;
            if b[end] != q {
                return None;
            }
            url = s[j + 1..end].to_string();
            j = end + 1;
        }
        _ => {
            let len = s[j..].find(|c: char| matches!(c, '\'' | '"' | '\\' | '(' | ')') || py_space(c)).unwrap_or(s.len() - j);
            url = s[j..j + len].to_string();
            j += len;
        }
    }
    j = skip_space(s, j);
    (b.get(j) == Some(&b')')).then(|| (url, j + 1))
}

/// Can a `url(` token start right after this byte? Only after a separator: after a name character
/// (`-url(`, `xurl(`, `5url(`), `#` or `@` the tokenizer reads another token, which loads nothing,
/// and a `url(` read there would be judged (and reported) but never changed (found by the engine
/// fuzz target). Anything else stops the fast path at its `(`, and the tokenizer reads the list.
fn url_may_start_after(prev: u8) -> bool {
    b" \t\n\r\x0c,:/".contains(&prev)
}

/// Scan a plain value from `i`: its end, and the URLs of its url() tokens.
fn value(s: &str, mut i: usize, urls: &mut Vec<String>) -> usize {
    let b = s.as_bytes();
    while i < b.len() {
        if let Some((url, end)) = url_may_start_after(b[i - 1]).then(|| url_at(s, i)).flatten() {
            urls.push(url);
            i = end;
            continue;
        }
        match b[i] {
            b';' | b'\'' | b'"' | b'\\' | b'(' | b')' | b'{' | b'}' | b'[' | b']' => break,
            b'/' if b.get(i + 1) == Some(&b'*') => break,
            _ => {}
        }
        i += s[i..].chars().next().map_or(1, char::len_utf8);
    }
    i
}

/// (declaration name lowercased, its url() URLs) of each declaration with URLs in a plain list;
/// None when the text is not a plain list.
pub fn plain_urls(s: &str) -> Option<Vec<(String, Vec<String>)>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        i = skip_space(s, i);
        if i == b.len() {
            return Some(out);
        }
        if b[i] == b';' {
            i += 1;
            continue;
        }
        if !(b[i].is_ascii_alphabetic() || b[i] == b'-' || b[i] == b'_') {
            return None;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
            i += 1;
        }
        let name = s[start..i].to_ascii_lowercase();
        i = skip_space(s, i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let mut urls = Vec::new();
        i = value(s, i + 1, &mut urls);
        if !urls.is_empty() {
            out.push((name, urls));
        }
        if i == b.len() {
            return Some(out);
        }
        if b[i] != b';' {
            return None;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_url_token_is_read_as_one() {
        assert_eq!(plain_urls("a:url(x);b: 1px url(y)"), Some(vec![("a".into(), vec!["x".into()]), ("b".into(), vec!["y".into()])]));
        assert_eq!(plain_urls("a:x,url(x)"), Some(vec![("a".into(), vec!["x".into()])]));
        for text in ["shape-outside:-url(https://c.test/s.png)", "a:xurl(x)", "a:5url(x)", "a:#url(x)", "a:url(x)url(y)"] {
            assert_eq!(plain_urls(text), None, "{text}: the tokenizer reads it");
        }
    }
}
