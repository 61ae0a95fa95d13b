//! Small text operations on markup the engine rewrites inside comments (Outlook conditional
//! comments are markup to the clients that read them).
use crate::html::collect::next_script_hook;

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

/// Rename every script hook so nothing reads it as script or a base URL (`x-expression(`,
/// `x-javascript:`, `<x-base`), the hooks as `html::collect` finds them.
pub fn rename_script_hooks(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut last = 0;
    while let Some(hook) = next_script_hook(text, last) {
        out.push_str(&text[last..hook.start]);
        match text[hook.clone()].strip_prefix('<') {
            Some(rest) => {
                out.push_str("<x-");
                out.push_str(rest);
            }
            None => {
                out.push_str("x-");
                out.push_str(&text[hook.clone()]);
            }
        }
        last = hook.end;
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
