//! CSS component values read with `cssparser`, shaped and serialised exactly as tinycss2 (the
//! Python reader this replaces) shapes and serialises them, so a rewritten sheet reads the same.
//!
//! cssparser's tokenizer follows CSS Syntax Level 3 like tinycss2; where the two differ in what they
//! hand back, the token is mapped here: unicode-range (no token in cssparser), `||`, strings and
//! `url(` cut by the end of input (tinycss2 adds an error after them), unmatched closers.

use cssparser::{Parser, ParserInput, Token};
use std::borrow::Cow;

/// Text of a token: borrowed from the source where it reads as written (no escapes), else owned.
pub type Text<'a> = Cow<'a, str>;

/// Nesting deeper than this is not read (a browser caps nesting too); callers drop such CSS.
pub const MAX_DEPTH: usize = 256;

/// The CSS nests blocks deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrKind {
    BadString,
    BadUrl,
    EofInString,
    EofInUrl,
    Unmatched(char),
    /// A unicode-range token whose end falls inside one of cssparser's tokens (see `resync`).
    Tangled,
}

/// One component value (tinycss2's node types).
#[derive(Clone, Debug, PartialEq)]
pub enum Node<'a> {
    Ws(Text<'a>),
    Comment(Text<'a>),
    Literal(Text<'a>),
    Ident(Text<'a>),
    AtKeyword(Text<'a>),
    Hash { value: Text<'a>, is_ident: bool },
    Str { value: Text<'a>, repr: String },
    Url { value: Text<'a>, repr: String },
    UnicodeRange(u32, u32),
    Number(Text<'a>),
    Percentage(Text<'a>),
    Dimension { repr: Text<'a>, unit: Text<'a> },
    Paren(Vec<Node<'a>>),
    Square(Vec<Node<'a>>),
    Curly(Vec<Node<'a>>),
    Function { name: Text<'a>, args: Vec<Node<'a>> },
    Error(ErrKind),
}

impl<'a> Node<'a> {
    /// tinycss2's `type` (a literal's type is its text, as its serializer compares them).
    pub fn type_name(&self) -> &str {
        match self {
            Node::Ws(_) => "whitespace",
            Node::Comment(_) => "comment",
            Node::Literal(v) => v,
            Node::Ident(_) => "ident",
            Node::AtKeyword(_) => "at-keyword",
            Node::Hash { .. } => "hash",
            Node::Str { .. } => "string",
            Node::Url { .. } => "url",
            Node::UnicodeRange(..) => "unicode-range",
            Node::Number(_) => "number",
            Node::Percentage(_) => "percentage",
            Node::Dimension { .. } => "dimension",
            Node::Paren(_) => "() block",
            Node::Square(_) => "[] block",
            Node::Curly(_) => "{} block",
            Node::Function { .. } => "function",
            Node::Error(_) => "error",
        }
    }

    pub fn is_literal(&self, s: &str) -> bool {
        matches!(self, Node::Literal(v) if v == s)
    }

    pub fn is_space_or_comment(&self) -> bool {
        matches!(self, Node::Ws(_) | Node::Comment(_))
    }

    /// Content of a (), [] or {} block.
    pub fn block_content(&self) -> Option<&Vec<Node<'a>>> {
        match self {
            Node::Paren(c) | Node::Square(c) | Node::Curly(c) => Some(c),
            _ => None,
        }
    }
}

/// tinycss2's input preprocessing: NUL to U+FFFD, CR LF / CR / FF to LF.
pub fn normalise(css: &str) -> Cow<'_, str> {
    if memchr::memchr3(b'\r', b'\x0c', 0, css.as_bytes()).is_none() {
        return Cow::Borrowed(css);
    }
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\x0c' => out.push('\n'),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// tinycss2's `parse_component_value_list`, of text already [`normalise`]d (the nodes borrow it).
pub fn tokenize(src: &str, skip_comments: bool) -> Result<Vec<Node<'_>>, TooDeep> {
    let mut input = ParserInput::new(src);
    let mut parser = Parser::new(&mut input);
    let mut out = Vec::new();
    read_list(&mut parser, src, skip_comments, 0, &mut out)?;
    Ok(out)
}

/// tinycss2's `parse_component_value_list` of any text (the nodes own their text).
pub fn tokenize_owned(css: &str, skip_comments: bool) -> Result<Vec<Node<'static>>, TooDeep> {
    let src = normalise(css);
    Ok(tokenize(&src, skip_comments)?.into_iter().map(Node::into_owned).collect())
}

impl Node<'_> {
    /// The same node owning all its text.
    pub fn into_owned(self) -> Node<'static> {
        fn own(t: Text<'_>) -> Text<'static> {
            Cow::Owned(t.into_owned())
        }
        fn all(v: Vec<Node<'_>>) -> Vec<Node<'static>> {
            v.into_iter().map(Node::into_owned).collect()
        }
        match self {
            Node::Ws(t) => Node::Ws(own(t)),
            Node::Comment(t) => Node::Comment(own(t)),
            Node::Literal(t) => Node::Literal(own(t)),
            Node::Ident(t) => Node::Ident(own(t)),
            Node::AtKeyword(t) => Node::AtKeyword(own(t)),
            Node::Hash { value, is_ident } => Node::Hash { value: own(value), is_ident },
            Node::Str { value, repr } => Node::Str { value: own(value), repr },
            Node::Url { value, repr } => Node::Url { value: own(value), repr },
            Node::UnicodeRange(a, b) => Node::UnicodeRange(a, b),
            Node::Number(t) => Node::Number(own(t)),
            Node::Percentage(t) => Node::Percentage(own(t)),
            Node::Dimension { repr, unit } => Node::Dimension { repr: own(repr), unit: own(unit) },
            Node::Paren(v) => Node::Paren(all(v)),
            Node::Square(v) => Node::Square(all(v)),
            Node::Curly(v) => Node::Curly(all(v)),
            Node::Function { name, args } => Node::Function { name: own(name), args: all(args) },
            Node::Error(e) => Node::Error(e),
        }
    }
}

/// A token's text: its source slice `raw` when that holds no escape, else cssparser's value.
fn text<'a>(raw: &'a str, value: &cssparser::CowRcStr<'_>) -> Text<'a> {
    if raw.contains('\\') {
        Cow::Owned(value.to_string())
    } else {
        Cow::Borrowed(raw)
    }
}

fn read_nested<'i>(
    p: &mut Parser<'i, '_>,
    src: &'i str,
    skip_comments: bool,
    depth: usize,
) -> Result<Vec<Node<'i>>, TooDeep> {
    if depth >= MAX_DEPTH {
        return Err(TooDeep);
    }
    let mut content = Vec::new();
    let mut status = Ok(());
    let _ = p.parse_nested_block(|inner| -> Result<(), cssparser::ParseError<'i, ()>> {
        status = read_list(inner, src, skip_comments, depth + 1, &mut content);
        Ok(())
    });
    status.map(|_| content)
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// tinycss2's `_consume_unicode_range` from just after `U+`: (start, end, end byte offset).
fn unicode_range(b: &[u8], mut pos: usize) -> (u32, u32, usize) {
    let hex = |s: &[u8]| -> u32 {
        s.iter().fold(0u32, |acc, &c| acc.wrapping_mul(16).wrapping_add((c as char).to_digit(16).unwrap_or(0)))
    };
    let start_pos = pos;
    let max_pos = (pos + 6).min(b.len());
    while pos < max_pos && is_hex(b[pos]) {
        pos += 1;
    }
    let start_digits = &b[start_pos..pos];
    let q_start = pos;
    while pos < max_pos && b[pos] == b'?' {
        pos += 1;
    }
    let questions = pos - q_start;
    if questions > 0 {
        let mut lo = start_digits.to_vec();
        let mut hi = start_digits.to_vec();
        lo.extend(std::iter::repeat_n(b'0', questions));
        hi.extend(std::iter::repeat_n(b'F', questions));
        return (hex(&lo), hex(&hi), pos);
    }
    let start = hex(start_digits);
    if pos + 1 < b.len() && b[pos] == b'-' && is_hex(b[pos + 1]) {
        pos += 1;
        let s = pos;
        let max_pos = (pos + 6).min(b.len());
        while pos < max_pos && is_hex(b[pos]) {
            pos += 1;
        }
        return (start, hex(&b[s..pos]), pos);
    }
    (start, start, pos)
}

/// Length of the number at the start of a numeric token's source (`[-+]?([0-9]*\.)?[0-9]+([eE][+-]?[0-9]+)?`).
fn number_len(b: &[u8]) -> usize {
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    i
}

/// Does this string token's source end with its closing quote (not cut by the end of input)?
pub(crate) fn string_closed(slice: &[u8]) -> bool {
    let Some(&q) = slice.first() else { return false };
    let mut i = 1;
    while i < slice.len() {
        if slice[i] == b'\\' {
            i += 2;
            continue;
        }
        if slice[i] == q {
            return true;
        }
        i += 1;
    }
    false
}

/// Does this unquoted `url(` token's source end with an unescaped `)`?
pub(crate) fn url_closed(slice: &[u8]) -> bool {
    if slice.last() != Some(&b')') {
        return false;
    }
    let backslashes = slice[..slice.len() - 1].iter().rev().take_while(|&&c| c == b'\\').count();
    backslashes % 2 == 0
}

fn read_list<'i>(
    p: &mut Parser<'i, '_>,
    src: &'i str,
    skip_comments: bool,
    depth: usize,
    out: &mut Vec<Node<'i>>,
) -> Result<(), TooDeep> {
    let bytes = src.as_bytes();
    loop {
        let start = p.position().byte_index();
        let token = match p.next_including_whitespace_and_comments() {
            Ok(t) => t.clone(),
            Err(_) => return Ok(()),
        };
        let end = p.position().byte_index();
        let node = match token {
            Token::Ident(v) => {
                // tinycss2 reads `U+` followed by a hex digit or `?` as one unicode-range token.
                if end == start + 1
                    && matches!(bytes[start], b'u' | b'U')
                    && end + 1 < bytes.len()
                    && bytes[end] == b'+'
                    && (is_hex(bytes[end + 1]) || bytes[end + 1] == b'?')
                {
                    let (lo, hi, range_end) = unicode_range(bytes, end + 1);
                    out.push(Node::UnicodeRange(lo, hi));
                    resync(p, src, skip_comments, depth, range_end, out)?;
                    continue;
                }
                Node::Ident(text(&src[start..end], &v))
            }
            Token::AtKeyword(v) => Node::AtKeyword(text(&src[start + 1..end], &v)),
            Token::Hash(v) => Node::Hash { value: text(&src[start + 1..end], &v), is_ident: false },
            Token::IDHash(v) => Node::Hash { value: text(&src[start + 1..end], &v), is_ident: true },
            Token::QuotedString(v) => {
                let value: Text = Cow::Owned(v.to_string());
                let mut repr = String::with_capacity(value.len() + 2);
                repr.push('"');
                serialize_string_value(&value, &mut repr);
                if string_closed(&bytes[start..end]) {
                    repr.push('"');
                    Node::Str { value, repr }
                } else {
                    out.push(Node::Str { value, repr });
                    Node::Error(ErrKind::EofInString)
                }
            }
            Token::UnquotedUrl(v) => {
                let value: Text = Cow::Owned(v.to_string());
                let mut repr = String::from("url(");
                serialize_url(&value, &mut repr);
                if url_closed(&bytes[start..end]) {
                    repr.push(')');
                    Node::Url { value, repr }
                } else {
                    out.push(Node::Url { value, repr });
                    Node::Error(ErrKind::EofInUrl)
                }
            }
            Token::Delim(c) => {
                if c == '|' && bytes.get(end) == Some(&b'|') {
                    // tinycss2 reads `||` as one literal (before `|=`).
                    let _ = p.next_including_whitespace_and_comments();
                    let after = p.position().byte_index();
                    out.push(Node::Literal(Cow::Borrowed("||")));
                    if after == end + 2 {
                        out.push(Node::Literal(Cow::Borrowed("=")));
                    }
                    continue;
                }
                Node::Literal(Cow::Borrowed(&src[start..end]))
            }
            Token::Number { .. } => Node::Number(Cow::Borrowed(&src[start..end])),
            Token::Percentage { .. } => Node::Percentage(Cow::Borrowed(&src[start..end - 1])),
            Token::Dimension { unit, .. } => {
                let n = number_len(&bytes[start..end]);
                Node::Dimension { repr: Cow::Borrowed(&src[start..start + n]), unit: text(&src[start + n..end], &unit) }
            }
            Token::WhiteSpace(s) => Node::Ws(Cow::Borrowed(s)),
            Token::Comment(s) => {
                if skip_comments {
                    continue;
                }
                Node::Comment(Cow::Borrowed(s))
            }
            Token::Colon
            | Token::Semicolon
            | Token::Comma
            | Token::IncludeMatch
            | Token::DashMatch
            | Token::PrefixMatch
            | Token::SuffixMatch
            | Token::SubstringMatch
            | Token::CDO
            | Token::CDC => Node::Literal(Cow::Borrowed(&src[start..end])),
            Token::Function(name) => {
                let name = text(&src[start..end - 1], &name);
                let args = read_nested(p, src, skip_comments, depth)?;
                Node::Function { name, args }
            }
            Token::ParenthesisBlock => Node::Paren(read_nested(p, src, skip_comments, depth)?),
            Token::SquareBracketBlock => Node::Square(read_nested(p, src, skip_comments, depth)?),
            Token::CurlyBracketBlock => Node::Curly(read_nested(p, src, skip_comments, depth)?),
            Token::BadUrl(_) => Node::Error(ErrKind::BadUrl),
            Token::BadString(_) => Node::Error(ErrKind::BadString),
            Token::CloseParenthesis => Node::Error(ErrKind::Unmatched(')')),
            Token::CloseSquareBracket => Node::Error(ErrKind::Unmatched(']')),
            Token::CloseCurlyBracket => Node::Error(ErrKind::Unmatched('}')),
        };
        out.push(node);
    }
}

/// After a unicode-range token ending at `range_end`: skip cssparser's tokens inside the range. A
/// token running past its end (`U+0-7Furl(`, `U+12345678`: never in real CSS) is read one way by
/// tinycss2 (a new token from the range's end) and another by cssparser and Chromium (one
/// dimension or ident); it becomes an error token, so the value or rule holding it is dropped.
fn resync<'i>(
    p: &mut Parser<'i, '_>,
    src: &'i str,
    skip_comments: bool,
    depth: usize,
    range_end: usize,
    out: &mut Vec<Node<'i>>,
) -> Result<(), TooDeep> {
    while p.position().byte_index() < range_end {
        let token = match p.next_including_whitespace_and_comments() {
            Ok(t) => t.clone(),
            Err(_) => return Ok(()),
        };
        if p.position().byte_index() <= range_end {
            continue;
        }
        out.push(Node::Error(ErrKind::Tangled));
        match token {
            Token::Function(_) | Token::ParenthesisBlock => out.push(Node::Paren(read_nested(p, src, skip_comments, depth)?)),
            Token::SquareBracketBlock => out.push(Node::Square(read_nested(p, src, skip_comments, depth)?)),
            Token::CurlyBracketBlock => out.push(Node::Curly(read_nested(p, src, skip_comments, depth)?)),
            _ => {}
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ serialisation (tinycss2's)

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || (c as u32) > 0x7F
}

pub fn serialize_name(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            _ if is_name_char(c) => out.push(c),
            '\n' => out.push_str("\\A "),
            '\r' => out.push_str("\\D "),
            '\x0c' => out.push_str("\\C "),
            _ => {
                out.push('\\');
                out.push(c);
            }
        }
    }
}

pub fn serialize_identifier(value: &str, out: &mut String) {
    if value == "-" {
        out.push_str("\\-");
        return;
    }
    if let Some(rest) = value.strip_prefix("--") {
        out.push_str("--");
        serialize_name(rest, out);
        return;
    }
    let mut rest = value;
    if let Some(r) = value.strip_prefix('-') {
        out.push('-');
        rest = r;
    }
    let mut chars = rest.chars();
    let Some(c) = chars.next() else { return };
    match c {
        _ if c.is_ascii_alphabetic() || c == '_' || (c as u32) > 0x7F => out.push(c),
        '\n' => out.push_str("\\A "),
        '\r' => out.push_str("\\D "),
        '\x0c' => out.push_str("\\C "),
        '0'..='9' => {
            out.push_str(&format!("\\{:X} ", c as u32));
        }
        _ => {
            out.push('\\');
            out.push(c);
        }
    }
    serialize_name(chars.as_str(), out);
}

pub fn serialize_string_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\A "),
            '\r' => out.push_str("\\D "),
            '\x0c' => out.push_str("\\C "),
            _ => out.push(c),
        }
    }
}

pub fn serialize_url(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' ' => out.push_str("\\ "),
            '\t' => out.push_str("\\9 "),
            '\n' => out.push_str("\\A "),
            '\r' => out.push_str("\\D "),
            '\x0c' => out.push_str("\\C "),
            '(' => out.push_str("\\("),
            ')' => out.push_str("\\)"),
            _ => out.push(c),
        }
    }
}

/// tinycss2's BAD_PAIRS: adjacent tokens that would read back as one, separated by `/**/`.
fn bad_pair(a: &str, b: &str) -> bool {
    const NUMERIC_ETC: [&str; 7] = ["ident", "function", "url", "number", "percentage", "dimension", "unicode-range"];
    (matches!(a, "ident" | "at-keyword" | "hash" | "dimension" | "#" | "-" | "number") && NUMERIC_ETC.contains(&b))
        || (matches!(a, "ident" | "at-keyword" | "hash" | "dimension") && matches!(b, "-" | "-->"))
        || (matches!(a, "#" | "-" | "number" | "@") && matches!(b, "ident" | "function" | "url"))
        || (matches!(a, "unicode-range" | "." | "+") && matches!(b, "number" | "percentage" | "dimension"))
        || (a == "@" && matches!(b, "ident" | "function" | "url" | "unicode-range" | "-"))
        || (a == "unicode-range" && matches!(b, "ident" | "function" | "?"))
        || (matches!(a, "$" | "*" | "^" | "~" | "|") && b == "=")
        || (a == "ident" && b == "() block")
        || (a == "|" && b == "|")
        || (a == "/" && b == "*")
}

/// tinycss2's `serialize` of a list of component values.
pub fn serialize(nodes: &[Node<'_>], out: &mut String) {
    let mut prev: Option<&str> = None;
    for n in nodes {
        let t = n.type_name();
        if let Some(p) = prev {
            if bad_pair(p, t) {
                out.push_str("/**/");
            } else if p == "\\" && !matches!(n, Node::Ws(v) if v.starts_with('\n')) {
                out.push('\n');
            }
        }
        write_node(n, out);
        prev = Some(t);
    }
}

pub fn to_css(nodes: &[Node<'_>]) -> String {
    let mut s = String::new();
    serialize(nodes, &mut s);
    s
}

fn write_node(n: &Node<'_>, out: &mut String) {
    match n {
        Node::Ws(v) | Node::Literal(v) => out.push_str(v),
        Node::Comment(v) => {
            out.push_str("/*");
            out.push_str(v);
            out.push_str("*/");
        }
        Node::Ident(v) => serialize_identifier(v, out),
        Node::AtKeyword(v) => {
            out.push('@');
            serialize_identifier(v, out);
        }
        Node::Hash { value, is_ident } => {
            out.push('#');
            if *is_ident {
                serialize_identifier(value, out)
            } else {
                serialize_name(value, out)
            }
        }
        Node::Str { repr, .. } | Node::Url { repr, .. } => out.push_str(repr),
        Node::UnicodeRange(a, b) => {
            if a == b {
                out.push_str(&format!("U+{a:X}"));
            } else {
                out.push_str(&format!("U+{a:X}-{b:X}"));
            }
        }
        Node::Number(r) => out.push_str(r),
        Node::Percentage(r) => {
            out.push_str(r);
            out.push('%');
        }
        Node::Dimension { repr, unit } => {
            out.push_str(repr);
            if unit == "e" || unit == "E" || unit.starts_with("e-") || unit.starts_with("E-") {
                out.push_str("\\65 ");
                serialize_name(&unit[1..], out);
            } else {
                serialize_identifier(unit, out);
            }
        }
        Node::Paren(c) => {
            out.push('(');
            serialize(c, out);
            out.push(')');
        }
        Node::Square(c) => {
            out.push('[');
            serialize(c, out);
            out.push(']');
        }
        Node::Curly(c) => {
            out.push('{');
            serialize(c, out);
            out.push('}');
        }
        Node::Function { name, args } => {
            serialize_identifier(name, out);
            out.push('(');
            serialize(args, out);
            // tinycss2 leaves the `)` off when the innermost last argument is a string cut by EOF.
            let mut last = args.last();
            while let Some(node) = last {
                match node {
                    Node::Error(ErrKind::EofInString) => return,
                    Node::Function { args, .. } => last = args.last(),
                    _ => break,
                }
            }
            out.push(')');
        }
        Node::Error(kind) => match kind {
            ErrKind::BadString => out.push_str("\"[bad string]\n"),
            ErrKind::BadUrl => out.push_str("url([bad url])"),
            ErrKind::Unmatched(c) => out.push(*c),
            ErrKind::EofInString | ErrKind::EofInUrl | ErrKind::Tangled => {}
        },
    }
}
