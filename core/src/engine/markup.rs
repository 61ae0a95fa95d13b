//! Small text operations on markup the engine rewrites inside comments (Outlook conditional
//! comments are markup to the clients that read them).
use std::sync::LazyLock;

use regex::Regex;

/// Python's `html.escape(text, quote=True)`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// A script hook (`javascript:`, `expression(`, `behavior:`, `-moz-binding:`) or `<base`.
static SCRIPT_HOOK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:(?:java|vb|live)script\s*:|expression\s*\(|(?:-ms-)?behavior\s*:|-moz-binding\s*:)|<\s*base\b")
        .expect("valid regex")
});

/// Rename every script hook so nothing reads it as script or a base URL (`x-expression(`,
/// `x-javascript:`, `<x-base`). A hook right after a word character or `-` is not one (the
/// look-behind of Python's COMMENT_SCRIPT, checked by hand: the regex crate has none).
pub fn rename_script_hooks(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut last = 0;
    let mut at = 0;
    while let Some(m) = SCRIPT_HOOK.find_at(text, at) {
        let hook = m.as_str();
        let blocked = !hook.starts_with('<')
            && text[..m.start()].chars().next_back().is_some_and(|c| c == '-' || c == '_' || c.is_alphanumeric());
        if blocked {
            at = m.start() + hook.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        out.push_str(&text[last..m.start()]);
        match hook.strip_prefix('<') {
            Some(rest) => {
                out.push_str("<x-");
                out.push_str(rest);
            }
            None => {
                out.push_str("x-");
                out.push_str(hook);
            }
        }
        last = m.end();
        at = m.end();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_are_renamed_once_and_only_hooks() {
        assert_eq!(rename_script_hooks("a javascript:x <base href> my-expression(1)"),
                   "a x-javascript:x <x-base href> my-expression(1)");
        assert_eq!(escape("a\"b'<&>"), "a&quot;b&#x27;&lt;&amp;&gt;");
    }
}
