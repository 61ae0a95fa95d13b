//! Every place CSS can load something or run script: found, judged and rewritten.
//!
//! The caller's judge decides each URL ([`Judged`]): kept, replaced, or removed (the declaration or
//! rule holding it is dropped, so nothing loads and no half-rewritten value remains). Declarations
//! that run script (`expression()`, `behavior`, `-moz-binding`) are reported to the judge as kind
//! `"script"` and always dropped. CSS is only tokenised (cssparser) when a cheap literal check says
//! it could hold a URL, an escape or something executable; the rules, declarations and their
//! serialisation follow tinycss2, the reader this replaced, so the output is the same text.

pub mod literals;
pub mod parse;
pub mod plain;
pub mod scan;
pub mod sheet;
pub mod tokens;

use parse::{parse_blocks_contents, parse_rule_list, parse_stylesheet, Item};
use std::collections::HashMap;
use std::borrow::Cow;
use tokens::{normalise, serialize, serialize_identifier, to_css, tokenize, tokenize_owned, Node, TooDeep};

/// A judge's answer for one URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judged {
    Keep,
    Remove,
    Replace(String),
}

/// What a bare value (`clean_value`) becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueOutcome {
    Unchanged,
    Removed,
    Rewritten(String),
}

pub use crate::pycompat::{is_space as py_space, strip as py_strip};

const EXEC_LITERALS: [&str; 3] = ["ession", "behavior", "binding"];
const MAYBE_LITERALS: [&str; 8] = ["url", "src", "cross-fade", "\\", "//", "ession", "behavior", "binding"];
/// The literals in any ASCII case, in one pass (eight `contains_ci` scans cost three times as much
/// on a 40 KB template sheet, whose common letters each start a candidate).
static MAYBE: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(MAYBE_LITERALS).expect("fixed literals")
});

/// Does `hay` hold `needle` (lowercase ASCII) in any ASCII case? (what `needle in text.lower()` is
/// for these words: no other character lowercases into them)
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    find_ci(hay, needle, 0).is_some()
}

fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let hay_from = hay.get(from..)?;
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), hay_from)
        .map(|i| i + from)
        .find(|&i| hay.get(i + 1..i + 1 + rest.len()).is_some_and(|w| w.eq_ignore_ascii_case(rest)))
}

fn skip_py_space(s: &str, from: usize) -> usize {
    let rest = &s[from..];
    from + (rest.len() - rest.trim_start_matches(py_space).len())
}

/// `image(` / `image-set(` with any whitespace before the `(` (ASCII case-insensitive).
fn maybe_image(text: &str) -> bool {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = find_ci(b, b"image", from) {
        let mut j = i + 5;
        if b.len() >= j + 4 && b[j] == b'-' && b[j + 1..j + 4].eq_ignore_ascii_case(b"set") {
            let k = skip_py_space(text, j + 4);
            if b.get(k) == Some(&b'(') {
                return true;
            }
        }
        j = skip_py_space(text, j);
        if b.get(j) == Some(&b'(') {
            return true;
        }
        from = i + 1;
    }
    false
}

/// `@` then whitespace then `import`.
fn maybe_import(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        if c != b'@' {
            return false;
        }
        let j = skip_py_space(text, i + 1);
        b.len() >= j + 6 && b[j..j + 6].eq_ignore_ascii_case(b"import")
    })
}

/// Could this CSS hold a load or something executable? (url(, src(, image-set(, @import, escapes,
/// a URL-looking string, the script words). False means it is passed on without reading it.
pub fn may_load(text: &str) -> bool {
    let b = text.as_bytes();
    if MAYBE.is_match(b) {
        return true;
    }
    (contains_ci(b, b"image") && maybe_image(text)) || (contains_ci(b, b"import") && maybe_import(text))
}

/// Declarations that run script in some client: IE behaviors, old Gecko XBL bindings.
pub const EXEC_PROPERTIES: [&str; 3] = ["behavior", "-ms-behavior", "-moz-binding"];

/// Names of a value's identifiers and functions, in order, comments skipped (as IE read them).
fn squash(nodes: &[Node<'_>], out: &mut String) {
    for n in nodes {
        match n {
            Node::Ident(v) => out.push_str(&v.to_ascii_lowercase()),
            Node::Function { name, args } => {
                out.push_str(&name.to_ascii_lowercase());
                out.push('(');
                squash(args, out);
            }
            Node::Paren(c) | Node::Square(c) | Node::Curly(c) => {
                out.push(' ');
                squash(c, out);
            }
            Node::Comment(_) => {}
            _ => out.push(' '),
        }
    }
}

/// Does a declaration (lowercased name, value) run script in some client?
pub fn executable(lower_name: &str, value: &[Node<'_>]) -> bool {
    if EXEC_PROPERTIES.contains(&lower_name) {
        return true;
    }
    let mut names = String::new();
    squash(value, &mut names);
    names.contains("expression(")
}

/// A URL in this declaration or rule was judged Remove (or the CSS around it cannot be trusted).
struct Blocked;

/// The judge's kind for CSS that goes because it cannot be read safely (`Cleaner::unreadable`).
pub const UNREADABLE: &str = "unreadable";
/// What `UNREADABLE` reports for CSS nested past `tokens::MAX_DEPTH`.
const TOO_DEEP: &str = "CSS nested more than 256 levels deep";

fn is_url_func(name: &str) -> bool {
    name.eq_ignore_ascii_case("url") || name.eq_ignore_ascii_case("src")
}

fn is_string_url_func(name: &str) -> bool {
    ["image-set", "-webkit-image-set", "image", "cross-fade", "-webkit-cross-fade"]
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f))
}

/// A letter for Python's `[a-z]` under IGNORECASE (which also takes İ ı ſ K).
fn py_ci_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}')
}

/// Does a string look like a URL (`scheme:`, `//host`, `\\host`)? A string in a value is judged then.
pub(crate) fn urlish(s: &str) -> bool {
    let s = s.trim_start_matches(py_space);
    if s.starts_with("//") || s.starts_with("\\\\") {
        return true;
    }
    let mut chars = s.chars();
    if !chars.next().is_some_and(py_ci_letter) {
        return false;
    }
    for c in chars {
        if c == ':' {
            return true;
        }
        if !(py_ci_letter(c) || c.is_ascii_digit() || matches!(c, '+' | '.' | '-')) {
            return false;
        }
    }
    false
}

fn quote(url: &str) -> String {
    let mut s = String::with_capacity(url.len() + 2);
    s.push('"');
    for c in url.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\a "),
            _ => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The judge's kind prefix for a URL that goes only because the declaration, prelude or rule holding
/// it goes (another URL in it was removed, or it could not be read): `went-with:css`, `went-with:font`.
/// The URL is not fetched whatever is answered; the judge reports it. [`WENT_WITH_PROXIED`] marks
/// one the judge had already answered with a replacement, which now never appears.
pub const WENT_WITH: &str = "went-with:";
pub const WENT_WITH_PROXIED: &str = "went-with-proxied:";

/// A kind the cleaner reports a gone URL under, read back: (the URL's own kind, was it replaced?).
pub fn went_with(kind: &str) -> Option<(&str, bool)> {
    kind.strip_prefix(WENT_WITH).map(|k| (k, false)).or_else(|| kind.strip_prefix(WENT_WITH_PROXIED).map(|k| (k, true)))
}

/// The cleaning of one piece of CSS, around the caller's judge.
struct Cleaner<'j, J: FnMut(&str, &str, &str) -> Judged> {
    judge: &'j mut J,
    /// The unit being rewritten (`rewrite_unit`): its URLs judged and not removed (replaced?), and
    /// those after the one removed, never judged; reported when the unit goes.
    judged: Vec<(String, bool)>,
    after: Vec<String>,
}

/// The URL a node carries, read as `rewrite_values` judges it (`in_set`: inside `image-set()` and
/// kin, where a string is a URL).
fn url_of(node: &Node<'_>, in_set: bool) -> Option<String> {
    match node {
        Node::Url { value, .. } => Some(value.to_string()),
        Node::Function { name, args } if is_url_func(name) => {
            let first = args.iter().find(|a| !a.is_space_or_comment());
            Some(match first {
                Some(Node::Str { value, .. }) | Some(Node::Url { value, .. }) => value.to_string(),
                _ => py_strip(&to_css(args)).to_string(),
            })
        }
        Node::Str { value, .. } if in_set || urlish(value) => Some(value.to_string()),
        _ => None,
    }
}

/// Every URL in `nodes` (at any depth) as `rewrite_values` would find them, in order.
fn urls_in(nodes: &[Node<'_>], in_set: bool, out: &mut Vec<String>) {
    for node in nodes {
        if let Some(url) = url_of(node, in_set) {
            out.push(url);
            continue;
        }
        match node {
            Node::Function { name, args } => urls_in(args, in_set || is_string_url_func(name), out),
            Node::Paren(c) | Node::Square(c) | Node::Curly(c) => urls_in(c, in_set, out),
            _ => {}
        }
    }
}

impl<J: FnMut(&str, &str, &str) -> Judged> Cleaner<'_, J> {
    /// CSS that cannot be read safely goes, and is reported through the judge as kind
    /// `"unreadable"` (`what` says what it was), as executable CSS is as kind `"script"`.
    fn unreadable(&mut self, what: &str) {
        (self.judge)(what, UNREADABLE, "");
    }

    /// `rewrite_values` for a unit that goes whole (a declaration's value, a prelude, a bare value):
    /// when it goes, each of its other URLs goes with it and is reported so ([`WENT_WITH`]), in order.
    fn rewrite_unit<'a>(&mut self, nodes: &[Node<'a>], kind: &str, where_: &str, in_set: bool) -> Result<Option<Vec<Node<'a>>>, Blocked> {
        self.judged.clear();
        self.after.clear();
        let result = self.rewrite_values(nodes, kind, where_, in_set);
        if result.is_err() {
            let judged = std::mem::take(&mut self.judged);
            let after = std::mem::take(&mut self.after);
            for (url, replaced) in judged {
                self.went(&url, kind, where_, replaced);
            }
            for url in after {
                self.went(&url, kind, where_, false);
            }
        }
        result
    }

    /// Report one URL gone with its unit (an empty `url()` loads nothing: nothing to report).
    fn went(&mut self, url: &str, kind: &str, where_: &str, replaced: bool) {
        if !py_strip(url).is_empty() {
            (self.judge)(url, &format!("{}{kind}", if replaced { WENT_WITH_PROXIED } else { WENT_WITH }), where_);
        }
    }

    /// A rule that goes whole (its prelude was removed): the URLs of its block go with it.
    fn rule_went(&mut self, content: &[Node<'_>], kind: &str, where_: &str) {
        let mut urls = Vec::new();
        urls_in(content, false, &mut urls);
        for url in urls {
            self.went(&url, kind, where_, false);
        }
    }

    /// The values with their URLs judged: None when nothing changed. Called through `rewrite_unit`.
    fn rewrite_values<'a>(&mut self, nodes: &[Node<'a>], kind: &str, where_: &str, in_set: bool) -> Result<Option<Vec<Node<'a>>>, Blocked> {
        let mut out: Option<Vec<Node<'a>>> = None;
        for (i, node) in nodes.iter().enumerate() {
            let blocked = |me: &mut Self| {
                urls_in(&nodes[i + 1..], in_set, &mut me.after);
                Err(Blocked)
            };
            if matches!(node, Node::Error(_)) {
                // A broken url( or an unterminated string: browsers drop or end it, but what it
                // swallowed can read as more CSS to a laxer reader (found by fuzzing). The value goes.
                self.unreadable("a broken url( or an unclosed string");
                return blocked(self);
            }
            let replacement = if let Some(url) = url_of(node, in_set) {
                let verdict = (self.judge)(&url, kind, where_);
                if verdict == Judged::Remove {
                    return blocked(self);
                }
                self.judged.push((url, matches!(verdict, Judged::Replace(_))));
                match verdict {
                    Judged::Replace(v) if matches!(node, Node::Str { .. }) => Some(Node::Str { repr: quote(&v), value: Cow::Owned(v) }),
                    Judged::Replace(v) => Some(Node::Url { repr: format!("url({})", quote(&v)), value: Cow::Owned(v) }),
                    _ => None,
                }
            } else {
                let inner = match node {
                    Node::Function { name, args } => {
                        let set = in_set || is_string_url_func(name);
                        self.rewrite_values(args, kind, where_, set)
                            .map(|new| new.map(|args| Node::Function { name: name.clone(), args }))
                    }
                    Node::Paren(c) => self.rewrite_values(c, kind, where_, in_set).map(|n| n.map(Node::Paren)),
                    Node::Square(c) => self.rewrite_values(c, kind, where_, in_set).map(|n| n.map(Node::Square)),
                    Node::Curly(c) => self.rewrite_values(c, kind, where_, in_set).map(|n| n.map(Node::Curly)),
                    _ => Ok(None),
                };
                match inner {
                    Ok(r) => r,
                    Err(Blocked) => return blocked(self),
                }
            };
            match (replacement, out.as_mut()) {
                (Some(r), Some(o)) => o.push(r),
                (Some(r), None) => {
                    let mut o = nodes[..i].to_vec();
                    o.push(r);
                    out = Some(o);
                }
                (None, Some(o)) => o.push(node.clone()),
                (None, None) => {}
            }
        }
        Ok(out)
    }

    /// Declarations and nested rules of one block. `raw`: the block's tokens, read again only when
    /// it holds parse errors, to tell whether a skipped region hides a URL.
    fn clean_block<'a>(&mut self, items: Vec<Item<'a>>, kind: &str, raw: &[Node<'_>]) -> (Vec<Item<'a>>, bool) {
        let mut out = Vec::with_capacity(items.len());
        let mut changed = false;
        let hides = items.iter().any(|i| matches!(i, Item::Error { .. })) && strings_hide_url(raw);
        for item in items {
            match item {
                Item::Declaration { name, value, important } => {
                    if hides_url_text(&name) {
                        // A name with url( in it (escaped: no property has one): a laxer reader that
                        // unescapes would take it for a URL. It goes.
                        self.unreadable("a property name holding url(");
                        changed = true;
                        continue;
                    }
                    let lower = name.to_ascii_lowercase();
                    if executable(&lower, &value) {
                        // reported through the judge as kind "script", and always dropped
                        let text = to_css(&value);
                        let shown: String = py_strip(&text).chars().take(200).collect();
                        (self.judge)(&shown, "script", &lower);
                        changed = true;
                        continue;
                    }
                    match self.rewrite_unit(&value, kind, &lower, false) {
                        Err(Blocked) => {
                            changed = true;
                            continue;
                        }
                        Ok(Some(v)) => {
                            changed = true;
                            out.push(Item::Declaration { name, value: v, important });
                        }
                        Ok(None) => out.push(Item::Declaration { name, value, important }),
                    }
                }
                Item::QualifiedRule { .. } | Item::AtRule { .. } => {
                    let mut rule = item;
                    let (keep, ch) = self.clean_rule(&mut rule);
                    changed |= ch;
                    if keep {
                        out.push(rule);
                    }
                }
                Item::Error { eof } if eof || hides => {
                    // An unclosed string, url( or block swallowed the rest of the block, or a skipped
                    // region holds a string with url( in it: no browser applies it, but a laxer reader
                    // could find a URL in it (found by fuzzing). It is not passed on.
                    self.unreadable(if eof { "an unclosed string, url( or block" } else { "a skipped region holding url(" });
                    changed = true;
                }
                other => out.push(other),
            }
        }
        (out, changed)
    }

    /// Clean one rule in place. Returns (keep, changed).
    fn clean_rule(&mut self, rule: &mut Item<'_>) -> (bool, bool) {
        match rule {
            Item::AtRule { name, prelude, content } => {
                let lname = name.to_ascii_lowercase();
                if lname == "import" {
                    if content.is_some() {
                        // An @import carrying a block is invalid: no browser applies it, and its
                        // block (never read here) could hold url()s a laxer reader fetches; once a
                        // rewrite escapes a `<` after the name it reads as another at-rule whose
                        // block is judged (found by fuzzing). It goes whole.
                        self.unreadable("an @import with a block");
                        return (false, true);
                    }
                    return match self.rewrite_unit(prelude, "stylesheet", "@import", true) {
                        Err(Blocked) => (false, true),
                        Ok(None) => (true, false),
                        Ok(Some(new)) => {
                            // As the Python reader did: only blocks rewritten in place show.
                            *prelude = keep_in_place(prelude, &new);
                            (true, true)
                        }
                    };
                }
                if lname == "namespace" {
                    return (true, false); // a namespace URL is a name, never fetched
                }
                let ch_prelude = match self.rewrite_unit(prelude, "css", &format!("@{lname}"), false) {
                    Err(Blocked) => {
                        if let Some(body) = content.as_deref() {
                            let kind = if lname == "font-face" { "font" } else { "css" };
                            self.rule_went(body, kind, &format!("@{lname}"));
                        }
                        return (false, true);
                    }
                    Ok(Some(new)) => {
                        *prelude = new;
                        true
                    }
                    Ok(None) => false,
                };
                let Some(body) = content.as_mut() else { return (true, ch_prelude) };
                let kind = if lname == "font-face" { "font" } else { "css" };
                let (new_text, ch) = if matches!(
                    lname.as_str(),
                    "media" | "supports" | "document" | "-moz-document" | "layer" | "container" | "scope" | "starting-style"
                ) {
                    self.clean_rules(parse_rule_list(body, false, false))
                } else {
                    let (items, ch) = self.clean_block(parse_blocks_contents(body, false, false), kind, body);
                    (if ch { serialize_decls(&items) } else { String::new() }, ch)
                };
                if ch {
                    match tokenize_owned(&new_text, false) {
                        Ok(t) => *body = t,
                        Err(TooDeep) => {
                            self.unreadable(TOO_DEEP);
                            return (false, true);
                        }
                    }
                }
                (true, ch || ch_prelude)
            }
            Item::QualifiedRule { prelude, content } => {
                if selector_hides_url(prelude) {
                    self.unreadable("a selector holding url(");
                    return (false, true);
                }
                let ch_prelude = match self.rewrite_unit(prelude, "css", "selector", false) {
                    Err(Blocked) => {
                        self.rule_went(content, "css", "selector");
                        return (false, true);
                    }
                    Ok(Some(new)) => {
                        *prelude = new;
                        true
                    }
                    Ok(None) => false,
                };
                let (items, ch) = self.clean_block(parse_blocks_contents(content, false, false), "css", content);
                if ch {
                    match tokenize_owned(&serialize_decls(&items), false) {
                        Ok(t) => *content = t,
                        Err(TooDeep) => {
                            self.unreadable(TOO_DEEP);
                            return (false, true);
                        }
                    }
                }
                (true, ch || ch_prelude)
            }
            _ => (true, false),
        }
    }

    /// The rules cleaned: (their text, changed). The text is written only when something changed
    /// (callers keep the original otherwise): most sheets in mail load nothing that goes, and
    /// writing a 50 KB sheet back was a tenth of such a newsletter's cleaning.
    fn clean_rules(&mut self, items: Vec<Item<'_>>) -> (String, bool) {
        let (kept, changed) = self.clean_items(items);
        let mut out = String::new();
        if changed {
            write_items(&kept, &mut out);
        }
        (out, changed)
    }

    /// The items of a rule list cleaned: (those kept, changed).
    fn clean_items<'a>(&mut self, items: Vec<Item<'a>>) -> (Vec<Item<'a>>, bool) {
        let mut kept = Vec::with_capacity(items.len());
        let mut changed = false;
        for mut item in items {
            match item {
                Item::QualifiedRule { .. } | Item::AtRule { .. } => {
                    let (keep, ch) = self.clean_rule(&mut item);
                    changed |= ch;
                    if !keep {
                        continue;
                    }
                }
                Item::Error { .. } => {
                    changed = true; // unparseable CSS is not passed on: it might mean something else elsewhere
                    continue;
                }
                _ => {}
            }
            kept.push(item);
        }
        (kept, changed)
    }
}

fn write_items(items: &[Item<'_>], out: &mut String) {
    for item in items {
        write_item(item, out);
    }
}

/// The @import prelude as the Python reader left it: its rewritten list was dropped, but a block it
/// rewrote had been changed in place (at any depth, through functions).
fn keep_in_place<'a>(orig: &[Node<'a>], new: &[Node<'a>]) -> Vec<Node<'a>> {
    orig.iter()
        .zip(new)
        .map(|(o, n)| match (o, n) {
            (Node::Paren(_), Node::Paren(_)) | (Node::Square(_), Node::Square(_)) | (Node::Curly(_), Node::Curly(_)) => n.clone(),
            (Node::Function { name, args }, Node::Function { args: new_args, .. }) => {
                Node::Function { name: name.clone(), args: keep_in_place(args, new_args) }
            }
            _ => o.clone(),
        })
        .collect()
}

/// Does a string (or a tokenizer error) anywhere in these tokens hold what a lax reader takes for url()?
fn strings_hide_url(nodes: &[Node<'_>]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Error(_) => true,
        Node::Str { value, .. } => hides_url_text(value),
        Node::Function { args, .. } => strings_hide_url(args),
        _ => n.block_content().is_some_and(|c| strings_hide_url(c)),
    })
}

fn hides_url_text(s: &str) -> bool {
    contains_ci(s.as_bytes(), b"url(") || contains_ci(s.as_bytes(), b"src(")
}

/// A selector holding a url()/src() or a string with "url(" in it: no browser applies such a rule
/// (a URL is not a selector), but a lax reader could fetch what is in it (found by fuzzing).
fn selector_hides_url(nodes: &[Node<'_>]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Url { .. } => true,
        Node::Function { name, args } => is_url_func(name) || selector_hides_url(args),
        Node::Str { value, .. } => hides_url_text(value),
        Node::Paren(c) | Node::Square(c) => selector_hides_url(c),
        _ => false,
    })
}

fn write_item(item: &Item<'_>, out: &mut String) {
    match item {
        Item::Ws(v) => out.push_str(v),
        Item::Comment(v) => {
            out.push_str("/*");
            out.push_str(v);
            out.push_str("*/");
        }
        Item::QualifiedRule { prelude, content } => {
            serialize(prelude, out);
            out.push('{');
            serialize(content, out);
            out.push('}');
        }
        Item::AtRule { name, prelude, content } => {
            out.push('@');
            serialize_identifier(name, out);
            let mut rest = String::new();
            serialize(prelude, &mut rest);
            let joins = match rest.chars().next() {
                Some('\\') => rest.len() > 1 && !rest[1..].starts_with(['\n', '\r', '\x0c']), // an escape
                Some(c) => c == '-' || c == '_' || c.is_alphanumeric() || !c.is_ascii(),
                None => false,
            };
            if joins {
                // A prelude that would run on into the name: a comment keeps the name as read (found
                // by fuzzing, when a `<` there was written as the escape `\3c `; see `safe`).
                out.push_str("/**/");
            }
            out.push_str(&rest);
            match content {
                None => out.push(';'),
                Some(c) => {
                    out.push('{');
                    serialize(c, out);
                    out.push('}');
                }
            }
        }
        Item::Declaration { name, value, important } => {
            serialize_identifier(name, out);
            out.push(':');
            serialize(value, out);
            if *important {
                out.push_str("!important");
            }
            out.push(';');
        }
        Item::Error { .. } => {}
    }
}

/// Declarations as `name:value;`, other items as they serialise; errors dropped.
///
/// The name is written as an identifier (escaped where needed). The Python implementation wrote the
/// unescaped name, so `\3b background\3a url\28 …\29 \3b x:red` (one escaped name) came out as
/// `;background:url(…);x:red;`, a declaration no judge had seen, which Chromium loads.
fn serialize_decls(items: &[Item<'_>]) -> String {
    let mut out = String::new();
    for item in items {
        match item {
            Item::Declaration { name, value, important } => {
                serialize_identifier(name, &mut out);
                out.push(':');
                serialize(value, &mut out);
                if *important {
                    out.push_str(" !important");
                }
                out.push(';');
            }
            Item::Error { .. } => {}
            other => write_item(other, &mut out),
        }
    }
    out
}

/// A rewritten sheet must never be able to close its `<style>` element or open a tag in it. In an
/// HTML `<style>` (RAWTEXT) only `</` can end it; in an SVG or MathML one the text is markup, where
/// a `<` opens something only when an ASCII letter, `!`, `/` or `?` follows it (HTML's tag open
/// state: any other character makes the `<` text). So:
/// - a `<` inside a string, a comment, an unquoted `url()` or a bad token becomes the escape `\3c `,
///   which reads as the same character there (an escaped one, `\<` as a name serialises, becomes
///   `\3c ` whole: replacing only its `<` would leave `\\3c `, an escaped backslash);
/// - a `<` that is a delimiter token stays a `<`, followed by a space when one of those characters
///   would follow it. `\3c ` there would be an identifier: `@<` would become an at-keyword and
///   `(width < 600px)` an invalid media query, so a second reading would differ from the one judged
///   (found by the engine fuzz target). Whitespace after a delimiter changes no CSS that uses one.
fn safe(css: String) -> String {
    if !css.contains('<') {
        return css;
    }
    let delims = delimiter_lts(&css);
    let mut out = String::with_capacity(css.len() + 16);
    let mut backslashes = 0usize;
    let mut chars = css.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '<' && delims.binary_search(&i).is_ok() {
            out.push('<');
            if chars.peek().is_some_and(|&(_, n)| n.is_ascii_alphabetic() || matches!(n, '!' | '/' | '?')) {
                out.push(' ');
            }
        } else if c == '<' {
            if backslashes % 2 == 1 {
                out.pop();
            }
            out.push_str("\\3c ");
        } else {
            out.push(c);
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
    }
    out
}

/// Byte offsets of the `<` delimiter tokens, in order, at any depth (cssparser's reading); none
/// past [`tokens::MAX_DEPTH`] nested blocks, where every `<` is escaped.
fn delimiter_lts(css: &str) -> Vec<usize> {
    fn walk(p: &mut cssparser::Parser<'_, '_>, depth: usize, out: &mut Vec<usize>) {
        loop {
            let start = p.position().byte_index();
            let nested = match p.next_including_whitespace_and_comments() {
                Ok(cssparser::Token::Delim('<')) => {
                    out.push(start);
                    false
                }
                Ok(cssparser::Token::Function(_) | cssparser::Token::ParenthesisBlock
                   | cssparser::Token::SquareBracketBlock | cssparser::Token::CurlyBracketBlock) => true,
                Ok(_) => false,
                Err(_) => return,
            };
            if nested && depth < tokens::MAX_DEPTH {
                let _ = p.parse_nested_block(|inner| -> Result<(), cssparser::ParseError<'_, ()>> {
                    walk(inner, depth + 1, out);
                    Ok(())
                });
            }
        }
    }
    let mut input = cssparser::ParserInput::new(css);
    let mut out = Vec::new();
    walk(&mut cssparser::Parser::new(&mut input), 0, &mut out);
    out
}

/// `U+` then a hex digit or `?`: tinycss2 reads a unicode-range there, cssparser another token.
fn maybe_unicode_range(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(b'+', b).any(|i| {
        i > 0 && matches!(b[i - 1], b'u' | b'U') && b.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit() || *c == b'?')
    })
}

/// Clean a `<style>` sheet. Returns the new text, or None when nothing changed.
///
/// The sheet is cut into its rules (`scan::pieces`, as `sheet::pieces` cuts it). A plain rule whose only loads are `url()`s is
/// judged from the cut; if every URL stays it is passed on in its own text, as the cleaner would
/// pass it on unchanged. Every other rule is read in full and written as the cleaner writes it
/// (tinycss2's serialisation), as the whole sheet was before; a dropped rule and a rule the input
/// ends inside of are not written. A 50 KB template sheet whose only change is a web font's
/// `@font-face` is then neither read into nodes nor written out in full.
pub fn clean_stylesheet<J: FnMut(&str, &str, &str) -> Judged>(text: &str, judge: J) -> Option<String> {
    clean_stylesheet_with(text, judge, true)
}

/// [`clean_stylesheet`]; `splice: false` reads every rule in full and writes every one back (tests
/// hold the passed-on rules to that: the same judge calls, the same tokens).
pub fn clean_stylesheet_with<J: FnMut(&str, &str, &str) -> Judged>(text: &str, judge: J, splice: bool) -> Option<String> {
    if !may_load(text) {
        return None;
    }
    let src = normalise(text);
    let mut judge = Replaying { judge, done: std::collections::VecDeque::new() };
    // Each piece as written (a span of the source) or as the cleaner writes it (its items); the
    // sheet is written only if something changed.
    enum Part<'a> {
        AsIs(std::ops::Range<usize>),
        Read(Vec<Item<'a>>),
    }
    let mut parts = Vec::new();
    let mut changed = false;
    let pieces = scan::pieces(&src);
    let literals = literals::Literals::of(&src);
    // every sheet a test cleans is read both ways
    #[cfg(test)]
    assert_eq!(pieces, sheet::pieces(&src), "the byte scan and the tokenizer's walk differ on {src:?}");
    for piece in pieces {
        match piece {
            sheet::Piece::Trivia(r) => parts.push(Part::AsIs(r)),
            sheet::Piece::Cdo => {} // not written back (the parser ignores it); no change by itself
            sheet::Piece::Unclosed => {
                // unparseable CSS is not passed on
                (judge.judge)("a rule the sheet ends inside of", UNREADABLE, "");
                changed = true;
            }
            sheet::Piece::Rule { span, plain, urls } => {
                let rule = &src[span.clone()];
                // every plain rule a test cleans is asked both ways
                #[cfg(test)]
                if plain {
                    let want = may_load(&literals::outside(&src, &span, &urls));
                    assert_eq!(literals.outside_may_load(&src, &span, &urls), want, "the literals looked up and read differ on {rule:?}");
                }
                if splice && plain && !maybe_unicode_range(rule) && !literals.outside_may_load(&src, &span, &urls) {
                    // Judged in the cleaner's order; passed on as written if every URL stays.
                    let kept = urls.iter().all(|u| judge.first(&u.url, u.kind, &u.property) == Judged::Keep);
                    if kept {
                        judge.done.clear();
                        parts.push(Part::AsIs(span));
                        continue;
                    }
                }
                let Ok(nodes) = tokenize(rule, false) else {
                    (judge.judge)(&format!("{TOO_DEEP}: the whole sheet"), UNREADABLE, "");
                    return Some(String::new());
                };
                let mut replay = |u: &str, k: &str, w: &str| judge.again(u, k, w);
                let mut cleaner = Cleaner { judge: &mut replay, judged: Vec::new(), after: Vec::new() };
                let (kept, ch) = cleaner.clean_items(parse_stylesheet(&nodes, false, false));
                judge.done.clear();
                changed |= ch;
                // written as the cleaner writes it, changed or not (as a whole rewritten sheet was)
                parts.push(Part::Read(kept));
            }
        }
    }
    if !changed {
        return None;
    }
    let mut out = String::with_capacity(src.len());
    for part in &parts {
        match part {
            Part::AsIs(r) => out.push_str(&src[r.clone()]),
            Part::Read(items) => write_items(items, &mut out),
        }
    }
    Some(safe(out))
}

/// The caller's judge, each URL asked once: verdicts given on a plain rule's fast reading are
/// given again, in order, when the rule must be read in full after all (one of them did not keep).
struct Replaying<J> {
    judge: J,
    done: std::collections::VecDeque<(String, &'static str, String, Judged)>,
}

impl<J: FnMut(&str, &str, &str) -> Judged> Replaying<J> {
    fn first(&mut self, url: &str, kind: &'static str, where_: &str) -> Judged {
        let v = (self.judge)(url, kind, where_);
        self.done.push_back((url.to_owned(), kind, where_.to_owned(), v.clone()));
        v
    }

    fn again(&mut self, url: &str, kind: &str, where_: &str) -> Judged {
        if kind == UNREADABLE || went_with(kind).is_some() {
            return (self.judge)(url, kind, where_); // never asked on the fast reading
        }
        match self.done.pop_front() {
            Some((u, k, w, v)) if u == url && k == kind && w == where_ => v,
            _ => {
                self.done.clear(); // not the same order after all: ask afresh
                (self.judge)(url, kind, where_)
            }
        }
    }
}

/// Clean a `style=""` attribute value. Returns the new text, or None when nothing changed.
pub fn clean_declarations<J: FnMut(&str, &str, &str) -> Judged>(text: &str, judge: J) -> Option<String> {
    clean_declarations_with(text, judge, true)
}

/// [`clean_declarations`]; `plain: false` always tokenises (tests hold the fast path to it).
pub fn clean_declarations_with<J: FnMut(&str, &str, &str) -> Judged>(text: &str, mut judge: J, plain: bool) -> Option<String> {
    if !may_load(text) {
        return None;
    }
    let has_exec_word = !plain || EXEC_LITERALS.iter().any(|w| contains_ci(text.as_bytes(), w.as_bytes()));
    let mut seen: HashMap<(String, String, String), Judged> = HashMap::new();
    if !has_exec_word {
        if let Some(decls) = plain::plain_urls(text) {
            // The common plain list: its url()s judged straight from the text.
            for (name, urls) in decls {
                for url in urls {
                    let verdict = judge(&url, "css", &name);
                    let stop = verdict == Judged::Remove;
                    seen.insert((url, "css".to_string(), name.clone()), verdict);
                    if stop {
                        break; // the declaration goes: its other URLs are never read (as below)
                    }
                }
            }
            if seen.values().all(|v| *v == Judged::Keep) {
                return None;
            }
        }
    }
    // each URL judged (and reported) once
    let mut memo_judge = |url: &str, kind: &str, where_: &str| -> Judged {
        if let Some(v) = seen.get(&(url.to_string(), kind.to_string(), where_.to_string())) {
            return v.clone();
        }
        judge(url, kind, where_)
    };
    let src = normalise(text);
    let Ok(nodes) = tokenize(&src, true) else {
        memo_judge(TOO_DEEP, UNREADABLE, "");
        return Some(String::new());
    };
    let items = parse_blocks_contents(&nodes, true, true);
    let mut cleaner = Cleaner { judge: &mut memo_judge, judged: Vec::new(), after: Vec::new() };
    let raw = if items.iter().any(|i| matches!(i, Item::Error { .. })) {
        match tokenize(&src, false) {
            Ok(raw) => raw,
            Err(TooDeep) => {
                cleaner.unreadable(TOO_DEEP);
                return Some(String::new());
            }
        }
    } else {
        Vec::new()
    };
    let (new, changed) = cleaner.clean_block(items, "css", &raw);
    changed.then(|| serialize_decls(&new))
}

/// A bare CSS value in an attribute (SVG `fill="url(...)"`).
pub fn clean_value<J: FnMut(&str, &str, &str) -> Judged>(text: &str, mut judge: J, where_: &str) -> ValueOutcome {
    if !may_load(text) {
        return ValueOutcome::Unchanged;
    }
    let src = normalise(text);
    let Ok(nodes) = tokenize(&src, false) else {
        judge(TOO_DEEP, UNREADABLE, where_);
        return ValueOutcome::Removed;
    };
    let mut cleaner = Cleaner { judge: &mut judge, judged: Vec::new(), after: Vec::new() };
    match cleaner.rewrite_unit(&nodes, "css", where_, false) {
        Err(Blocked) => ValueOutcome::Removed,
        Ok(None) => ValueOutcome::Unchanged,
        Ok(Some(new)) => ValueOutcome::Rewritten(to_css(&new)),
    }
}

#[cfg(test)]
mod tests;
