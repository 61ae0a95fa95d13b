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

/// `s.split(c)` for an ASCII byte `c`, found with memchr (`str::split` on a char costs three times as
/// much on a template sheet's short declarations).
fn split_byte(s: &str, c: u8) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(c, s.as_bytes()).chain(std::iter::once(s.len())).map(move |end| {
        let part = &s[start..end];
        start = end + 1;
        part
    })
}

/// Where the ASCII byte `c` first is in `s` from `from` on (`s[from..].find(c)`, with memchr).
fn find_byte(s: &str, c: u8, from: usize) -> Option<usize> {
    memchr::memchr(c, &s.as_bytes()[from..]).map(|p| p + from)
}

/// `s[from..].find(needle)`, with memmem.
fn find_str(s: &str, needle: &str, from: usize) -> Option<usize> {
    memchr::memmem::find(&s.as_bytes()[from..], needle.as_bytes()).map(|p| p + from)
}

/// Declarations of a block read by splitting on `;` and `:` (no strings, escapes or comments in it).
fn light_decls(block: &str) -> Vec<Decl> {
    let mut out = Vec::new();
    // (the `:`s and `;`s in one memchr2 walk: a declaration is too short for a search per part)
    let b = block.as_bytes();
    let (mut start, mut colon) = (0, None);
    for end in memchr::memchr2_iter(b':', b';', b).chain(std::iter::once(b.len())) {
        if end < b.len() && b[end] == b':' {
            colon = colon.or(Some(end));
            continue;
        }
        let part = start;
        start = end + 1;
        let Some(colon) = colon.take() else { continue };
        let (name, value) = (&block[part..colon], &block[colon + 1..end]);
        let name = py_strip(name);
        // (only ASCII can lowercase into a property name: test before allocating the lowercase)
        if let Some(name) = PROPS.iter().find(|p| name.eq_ignore_ascii_case(p)).map(|p| p.to_string()) {
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
    while let Some(start) = find_str(rest, "/*", 0) {
        out.push_str(&rest[..start]);
        out.push(' ');
        let body = &rest[start + 2..];
        match find_str(body, "*/", 0) {
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

/// Is there an unquoted `url(` whose text up to `)` holds a quote?
fn unquoted_url_with_quote(b: &[u8]) -> bool {
    // Each `(` with `url` before it, in any case: the `(`s are few, every byte would start a window.
    let mut urls = memchr::memchr_iter(b'(', b).filter(|&p| p >= 3 && b[p - 3..p].eq_ignore_ascii_case(b"url"));
    urls.any(|p| {
        let rest = &b[p + 1..];
        let start = rest.iter().position(|c| !b" \t\n\r\x0c".contains(c)).unwrap_or(rest.len());
        let arg = &rest[start..];
        !matches!(arg.first(), Some(b'"' | b'\'')) && arg.iter().take_while(|&&c| c != b')').any(|c| matches!(c, b'"' | b'\''))
    })
}

/// Are the sheet's strings ones the brace scan reads as the tokeniser does? Each starts after a
/// delimiter, is closed on its line and holds none of `{ } ;` or `/*` (which would move a rule,
/// declaration or comment boundary). A `:` may stay: a string before a declaration's first colon
/// puts a quote in its name, which no deciding property has. Quotes inside comments do not count:
/// comments are stripped before the scan; only those between rules are allowed (after a `}`).
fn strings_are_inert(text: &str) -> bool {
    let b = text.as_bytes();
    if unquoted_url_with_quote(b) {
        return false; // a bad url(): the tokeniser reads it to `)`, past any brace
    }
    // Only quotes and comment starts need looking at; whether one is inside a block is the last
    // brace in the plain text read since the one before (memchr jumps where a byte loop would crawl).
    // Each kind is looked for again only once passed: a lone `/` (every URL has a few) is no stop.
    let comments = memchr::memmem::Finder::new(b"/*");
    let (mut i, mut in_block) = (0, false);
    let (mut quote, mut comment) = (memchr::memchr2(b'"', b'\'', b), comments.find(b));
    loop {
        if quote.is_some_and(|q| q < i) {
            quote = memchr::memchr2(b'"', b'\'', &b[i..]).map(|p| p + i);
        }
        if comment.is_some_and(|c| c < i) {
            comment = comments.find(&b[i..]).map(|p| p + i);
        }
        let Some(at) = [quote, comment].into_iter().flatten().min() else { break };
        if let Some(brace) = memchr::memrchr2(b'{', b'}', &b[i..at]) {
            in_block = b[i + brace] == b'{';
        }
        i = at;
        if b[i] == b'/' {
            if in_block {
                return false; // the scan reads it as a space
            }
            match find_str(text, "*/", i + 2) {
                Some(end) => i = end + 2,
                None => return true, // the rest is one comment
            }
        } else {
            match inert_string(b, i) {
                Some(end) => i = end,
                None => return false,
            }
        }
    }
    true
}

/// The string starting at `b[i]` (a quote): where it ends, if the brace scan can trust it.
fn inert_string(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && !b" \t\n\r\x0c(,:=[>+~".contains(&b[i - 1]) {
        return None; // `it's`: not a string start the scan can trust
    }
    let len = memchr::memchr(b[i], &b[i + 1..])?;
    let body = &b[i + 1..i + 1 + len];
    if body.iter().any(|c| b"{};\n\r\x0c".contains(c)) || body.windows(2).any(|w| w == b"/*") {
        return None;
    }
    Some(i + len + 2)
}

/// Every style rule with deciding declarations, read with a brace scan; None for a sheet with strings
/// or escapes (a quoted `{` could fool it). This is the Python reader's scan, answer for answer.
pub fn light_structure(text: &str) -> Option<Vec<Rule>> {
    if memchr::memchr3(b'"', b'\'', b'\\', text.as_bytes()).is_some() {
        return None;
    }
    light_rules(text, false)
}

/// The brace scan over a sheet with strings (font names, quoted url()s: every heavy template), where
/// they are inert; None when one would reach the answer (the tokeniser writes strings back in its
/// own quoting) or the sheet has escapes. Its answer is the tokeniser's.
fn quoted_light_structure(text: &str) -> Option<Vec<Rule>> {
    if find_byte(text, b'\\', 0).is_some() || !strings_are_inert(text) {
        return None;
    }
    let rules = light_rules(text, true)?;
    let quoted = |s: &str| memchr::memchr2(b'"', b'\'', s.as_bytes()).is_some();
    let leaks = rules.iter().any(|(c, sel, d)| quoted(c) || quoted(sel) || d.iter().any(|(_, v, _)| quoted(v)));
    (!leaks).then_some(rules)
}

/// The brace scan of [`light_structure`] over a sheet it can read. `strict`: None when a rule's
/// block holds a `{` (the tokeniser nests it; the scan would end the block at its `}`) or a `;`
/// before a `{` does not end an at-rule statement.
fn light_rules(text: &str, strict: bool) -> Option<Vec<Rule>> {
    let owned;
    let text = if find_str(text, "/*", 0).is_some() {
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
        // the first brace from `i`; after a `{`, the `}` that ends its block (as the scan reads it)
        let Some(first) = memchr::memchr2(b'{', b'}', &text.as_bytes()[i..]).map(|p| p + i) else { break };
        let (ob, cb) = if text.as_bytes()[first] == b'{' {
            let Some(cb) = find_byte(text, b'}', first + 1) else { break };
            (Some(first), cb)
        } else {
            (None, first)
        };
        match ob {
            Some(ob) if ob < cb => {
                let before = &text[i..ob];
                let last_semicolon = memchr::memrchr(b';', before.as_bytes());
                let prelude = py_strip(last_semicolon.map_or(before, |k| &before[k + 1..]));
                // (the parts before the last `;`: those of the text before it)
                let statements = |k: usize| split_byte(&before[..k], b';').any(|p| !py_strip(p).starts_with('@'));
                if strict && last_semicolon.is_some_and(statements) {
                    return None; // a `;` the tokeniser keeps in a selector, not an at-rule's end
                }
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
                    let end = cb;
                    if strict && find_byte(&text[..end], b'{', ob + 1).is_some() {
                        return None;
                    }
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

/// The rules of one sheet: the brace scan where it can read the sheet (strings and all), else the
/// tokeniser.
pub fn structure(text: &str) -> Vec<Rule> {
    light_structure(text).or_else(|| quoted_light_structure(text)).unwrap_or_else(|| full_structure(text))
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
        // inert strings (a font name) are read by the scan, each as the tokeniser reads it
        let sheet = "@font-face{font-family:'Lato';src:url('x.woff')} /* it's */ .f{font-family:\"Lato\",x;display:none}";
        let full: Vec<Rule> = full_structure(sheet).into_iter().map(|(c, s, d)| (c, s.trim().to_string(), d)).collect();
        assert_eq!(quoted_light_structure(sheet), Some(full));
        assert!(quoted_light_structure("[a='b']{width:0}").is_none(), "a string in the answer: tokenised");
        assert!(quoted_light_structure(".a{content:'x;width:0'} .b{width:1px}").is_none());
        assert!(quoted_light_structure(".a{background:url('https://t.example/p')} .b{width:1px}").is_some());
        assert!(quoted_light_structure(".a{background:url(it's)} .b{width:1px}").is_none());
        assert!(quoted_light_structure(".a{content:'x\n} .b{width:1px}").is_none());
        assert!(quoted_light_structure(".a{font:'x';display:none;o{content:'y'}width:0}").is_none(), "a nested block");
        assert!(quoted_light_structure(".a@import 'x';b{width:0}").is_none(), "a `;` in a selector");
        assert!(quoted_light_structure(".a{font:'x';width:ex/**/pr}").is_none(), "a comment in a block");
    }

    #[test]
    fn inline() {
        assert_eq!(inline_decls("DISPLAY: None ! important; width:1px"), vec![
            ("display".into(), "none".into(), true),
            ("width".into(), "1px".into(), false)
        ]);
        assert_eq!(inline_decls("width:/*x*/2px"), vec![("width".into(), "2px".into(), false)]);
    }

    /// The byte-at-a-time scans `strings_are_inert` and `unquoted_url_with_quote` replaced (a string's
    /// own check is shared: the jumps are what is tested).
    fn inert_by_bytes(text: &str) -> bool {
        let b = text.as_bytes();
        let bad_url = b.windows(4).enumerate().filter(|(_, w)| w.eq_ignore_ascii_case(b"url(")).any(|(i, _)| {
            let rest = &b[i + 4..];
            let start = rest.iter().position(|c| !b" \t\n\r\x0c".contains(c)).unwrap_or(rest.len());
            let arg = &rest[start..];
            !matches!(arg.first(), Some(b'"' | b'\'')) && arg.iter().take_while(|&&c| c != b')').any(|c| matches!(c, b'"' | b'\''))
        });
        if bad_url {
            return false;
        }
        let (mut i, mut in_block) = (0, false);
        while i < b.len() {
            match b[i] {
                b'{' => (in_block, i) = (true, i + 1),
                b'}' => (in_block, i) = (false, i + 1),
                b'/' if b.get(i + 1) == Some(&b'*') && in_block => return false,
                b'/' if b.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                    Some(end) => i += end + 4,
                    None => return true,
                },
                b'"' | b'\'' => match inert_string(b, i) {
                    Some(end) => i = end,
                    None => return false,
                },
                _ => i += 1,
            }
        }
        true
    }

    // The brace scan as it was written with `str` searches, before memchr: the scan is held to it.
    fn light_decls_by_str(block: &str) -> Vec<Decl> {
        let mut out = Vec::new();
        for part in block.split(';') {
            let Some((name, value)) = part.split_once(':') else { continue };
            let name = py_strip(name);
            // (only ASCII can lowercase into a property name: test before allocating the lowercase)
            if let Some(name) = PROPS.iter().find(|p| name.eq_ignore_ascii_case(p)).map(|p| p.to_string()) {
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
    fn strip_comments_by_str(text: &str) -> String {
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
    fn light_rules_by_str(text: &str, strict: bool) -> Option<Vec<Rule>> {
        let owned;
        let text = if text.contains("/*") {
            owned = strip_comments_by_str(text);
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
                    if strict && before.rsplit(';').skip(1).any(|p| !py_strip(p).starts_with('@')) {
                        return None; // a `;` the tokeniser keeps in a selector, not an at-rule's end
                    }
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
                        if strict && text[ob + 1..end].contains('{') {
                            return None;
                        }
                        let decls = light_decls_by_str(&text[ob + 1..end]);
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

    #[test]
    fn brace_scan_reads_as_with_str_searches() {
        // 200,000 sheets (a fixed xorshift: the same every run) of the pieces the scan cuts on.
        const PIECES: [&str; 28] = [".a{", "b c{", "}", ";", ":", " ", "\n", "/*", "*/", "{", "@", "'q'", "\"", ",x",
                                    "@media screen and (max-width:600px){", "@font-face{", "@supports (x){", "@import 'x';",
                                    "display:none", "DISPLAY : None", "width:1px", "max-width:100% !important", "color:red",
                                    "!important", " ! Important ", "\u{2003}", "é", "opacity:0;"];
        let mut rng = crate::testrand::XorShift(0x9e37_79b9_7f4a_7c15);
        let (mut some, mut rules) = (0, 0);
        for _ in 0..200_000 {
            let mut sheet = String::new();
            let x = rng.step();
            let mut y = crate::testrand::XorShift(x);
            for _ in 0..(x % 40) {
                sheet.push_str(PIECES[(y.step() % PIECES.len() as u64) as usize]);
            }
            for strict in [false, true] {
                let want = light_rules_by_str(&sheet, strict);
                assert_eq!(light_rules(&sheet, strict), want, "{sheet:?} strict {strict}");
                if let Some(r) = want {
                    some += 1;
                    rules += r.len();
                }
            }
            assert_eq!(light_decls(&sheet), light_decls_by_str(&sheet), "{sheet:?}");
        }
        assert!(some > 100_000 && rules > 10_000, "{some} sheets read, {rules} rules");
    }

    #[test]
    fn inertness_jumps_as_the_byte_scan_reads() {
        // Sheets made of the pieces the scan turns on, 200,000 of them (a fixed xorshift: the same every run).
        const PIECES: [&str; 16] = ["{", "}", "/*", "*/", "/", "\"", "'", "url(", "URL( ", ")", " ", ";", ":",
                                    "a", "\n", "it's"];
        let mut rng = crate::testrand::XorShift(0x9e37_79b9_7f4a_7c15);
        let (mut inert, mut total) = (0, 0);
        for _ in 0..200_000 {
            let mut sheet = String::new();
            let x = rng.step();
            for k in 0..(x % 24) {
                sheet.push_str(PIECES[((x >> (k * 2 + 5)) % 16) as usize]);
            }
            let want = inert_by_bytes(&sheet);
            assert_eq!(strings_are_inert(&sheet), want, "{sheet:?}");
            inert += usize::from(want);
            total += 1;
        }
        assert!(inert > total / 10 && inert < total * 9 / 10, "both answers were tried: {inert} of {total}");
    }
}
