//! The reading half of the visibility resolver: a `<style>` sheet as the rules that can hide, show
//! or size an element, `(condition, selector list, declarations)` each; and an inline style's
//! deciding declarations. Matching the selectors stays with the caller (lexbor, in Python).
//!
//! Template sheets without strings or escapes are read with a brace scan (tens of µs); the others
//! are tokenised. Both follow the Python reader this replaced, value for value.

use crate::css::parse::{parse_blocks_contents, parse_rule_list, parse_stylesheet, Item};
use crate::css::tokens::{normalise, to_css, tokenize, Node};
use crate::css::{py_space, py_strip};

/// Properties that decide whether, and how big, an element is drawn.
const PROPS: [&str; 13] = [
    "display", "visibility", "opacity", "width", "height", "max-width", "max-height", "overflow", "overflow-x",
    "overflow-y", "clip", "left", "top",
];
const CHEAP: [&str; 6] = ["display", "visibility", "opacity", "width", "height", "max-"];

/// (property, value, important), property and value lowercased.
pub type Decl = (String, String, bool);
/// (condition, selector list, declarations) of one style rule.
pub type Rule = (String, String, Vec<Decl>);

fn contains_ci(hay: &str, needle: &str) -> bool {
    crate::css::contains_ci(hay.as_bytes(), needle.as_bytes())
}

/// Can this `<style>` text hide, show or size an element at all? (a cheap literal check)
pub fn sheet_matters(text: &str) -> bool {
    CHEAP.iter().any(|w| contains_ci(text, w))
}

/// `" ".join(s.split())` of Python: runs of whitespace as one space, none at the ends.
fn squeeze(s: &str) -> String {
    s.split(py_space).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Where `!\s*important\s*$` starts in a stripped value, if it ends so.
fn important_at(value: &str) -> Option<usize> {
    value.match_indices('!').map(|(i, _)| i).find(|&i| {
        let rest = value[i + 1..].trim_start_matches(py_space);
        rest.strip_prefix("important").is_some_and(|r| r.chars().all(py_space))
    })
}

/// Declarations of a block read by splitting on `;` and `:` (no strings, escapes or comments in it).
fn light_decls(block: &str) -> Vec<Decl> {
    let mut out = Vec::new();
    for part in block.split(';') {
        let Some((name, value)) = part.split_once(':') else { continue };
        let name = py_strip(name).to_lowercase();
        if PROPS.contains(&name.as_str()) {
            let mut value = py_strip(value).to_lowercase();
            let important = important_at(&value);
            if let Some(at) = important {
                value = value[..at].trim_end_matches(py_space).to_string();
            }
            out.push((name, value, important.is_some()));
        }
    }
    out
}

/// Comments replaced by a space (an unclosed one runs to the end, or to a final newline).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        out.push(' ');
        let body = &rest[start + 2..];
        match body.find("*/") {
            Some(end) => rest = &body[end + 2..],
            None => {
                rest = if body.ends_with('\n') { "\n" } else { "" };
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every style rule with deciding declarations, read with a brace scan; None for a sheet with strings
/// or escapes (a quoted `{` could fool it).
pub fn light_structure(text: &str) -> Option<Vec<Rule>> {
    if text.contains(['"', '\'', '\\']) {
        return None;
    }
    let owned;
    let text = if text.contains("/*") {
        owned = strip_comments(text);
        owned.as_str()
    } else {
        text
    };
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new(); // conditions of the open @media / @supports blocks
    let mut skip = 0usize; // depth inside an at-rule whose content is not rules (@font-face …)
    let (mut i, n) = (0usize, text.len());
    while i < n {
        let ob = text[i..].find('{').map(|p| p + i);
        let Some(cb) = text[i..].find('}').map(|p| p + i) else { break };
        match ob {
            Some(ob) if ob < cb => {
                let before = &text[i..ob];
                let prelude = py_strip(before.rsplit(';').next().unwrap_or(before));
                if skip > 0 {
                    skip += 1;
                    i = ob + 1;
                } else if let Some(at) = prelude.strip_prefix('@') {
                    let (name, cond) = at.split_once(' ').unwrap_or((at, ""));
                    if matches!(name.to_lowercase().as_str(), "media" | "supports" | "container") {
                        stack.push(squeeze(&cond.to_lowercase()));
                    } else {
                        skip = 1;
                    }
                    i = ob + 1;
                } else {
                    let end = text[ob + 1..].find('}').map(|p| p + ob + 1)?;
                    let decls = light_decls(&text[ob + 1..end]);
                    if !decls.is_empty() {
                        let cond: Vec<&str> = stack.iter().filter(|c| !c.is_empty()).map(String::as_str).collect();
                        out.push((cond.join(" and "), prelude.to_string(), decls));
                    }
                    i = end + 1;
                }
            }
            _ => {
                if skip > 0 {
                    skip -= 1;
                } else {
                    stack.pop();
                }
                i = cb + 1;
            }
        }
    }
    Some(out)
}

/// The deciding declarations of a tokenised block.
fn decls_of(nodes: &[Node<'_>]) -> Vec<Decl> {
    parse_blocks_contents(nodes, true, true)
        .into_iter()
        .filter_map(|item| match item {
            Item::Declaration { name, value, important } => {
                let lower = name.to_ascii_lowercase();
                PROPS.contains(&lower.as_str()).then(|| (lower, py_strip(&to_css(&value)).to_lowercase(), important))
            }
            _ => None,
        })
        .collect()
}

/// Every style rule with deciding declarations, tokenised (any sheet).
pub fn full_structure(text: &str) -> Vec<Rule> {
    fn walk(items: Vec<Item<'_>>, condition: &str, out: &mut Vec<Rule>) {
        for item in items {
            match item {
                Item::AtRule { name, prelude, content: Some(content) } => {
                    if matches!(name.to_ascii_lowercase().as_str(), "media" | "supports" | "container") {
                        let cond = squeeze(&to_css(&prelude).to_lowercase());
                        let inner = if condition.is_empty() { cond } else { format!("{condition} and {cond}") };
                        walk(parse_rule_list(&content, true, true), &inner, out);
                    }
                }
                Item::QualifiedRule { prelude, content } => {
                    let decls = decls_of(&content);
                    if !decls.is_empty() {
                        out.push((condition.to_string(), to_css(&prelude), decls));
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    let src = normalise(text);
    if let Ok(nodes) = tokenize(&src, true) {
        walk(parse_stylesheet(&nodes, true, true), "", &mut out);
    }
    out
}

/// The rules of one sheet: the brace scan where it can read the sheet, else the tokeniser.
pub fn structure(text: &str) -> Vec<Rule> {
    light_structure(text).unwrap_or_else(|| full_structure(text))
}

/// The deciding declarations of a `style=""` attribute.
pub fn inline_decls(style: &str) -> Vec<Decl> {
    if style.contains(['"', '\'', '\\']) || style.contains("/*") {
        return tokenize(&normalise(style), true).map(|t| decls_of(&t)).unwrap_or_default();
    }
    light_decls(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_and_full_agree() {
        let sheet = "/* x */ .pre{display:none!important;color:red} @media (max-width: 600px){ .m { width : 0 } }\
                     @font-face{font-family:x} td.o{visibility:hidden}";
        let light = light_structure(sheet).expect("plain sheet");
        let full: Vec<Rule> = full_structure(sheet).into_iter().map(|(c, s, d)| (c, s.trim().to_string(), d)).collect();
        assert_eq!(light, full);
        assert_eq!(light[0], ("".into(), ".pre".into(), vec![("display".into(), "none".into(), true)]));
        assert_eq!(light[1].0, "(max-width: 600px)");
        assert!(light_structure(".a{content:\"{\"}").is_none());
    }

    #[test]
    fn inline() {
        assert_eq!(inline_decls("DISPLAY: None ! important; width:1px"), vec![
            ("display".into(), "none".into(), true),
            ("width".into(), "1px".into(), false)
        ]);
        assert_eq!(inline_decls("width:/*x*/2px"), vec![("width".into(), "2px".into(), false)]);
    }
}
