//! A sheet's top level cut into its rules, each with its source span, by cssparser's tokenizer
//! (strings, comments, escapes and nested blocks read as a browser reads them), and whether each
//! rule is plain: a rule the cleaner would pass on unchanged once its `url()`s are kept, unless its
//! text holds one of the words `may_load` looks for (see `clean_stylesheet`). Such a rule is not
//! read into nodes at all.

use cssparser::{Parser, ParserInput, Token};
use std::ops::Range;

use super::tokens::{string_closed, url_closed, MAX_DEPTH};
use super::urlish;

/// A `url()` of a plain rule's declaration, as the cleaner would judge it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainUrl {
    /// The URL (escapes read), the kind (`css`, or `font` in `@font-face`), the property lowercased.
    pub url: String,
    pub kind: &'static str,
    pub property: String,
    /// Where the whole `url(…)` token or function is, in the sheet.
    pub span: Range<usize>,
}

/// One top-level piece of a sheet, as tinycss2's `parse_stylesheet` cuts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Whitespace or a comment between rules.
    Trivia(Range<usize>),
    /// `<!--` or `-->` between rules (ignored by the parser; not written back).
    Cdo,
    /// A qualified rule (through its `{}` block) or an at-rule (through its `;` or `{}` block).
    /// `plain`: every token reads cleanly (no bad or unclosed string, url or comment, no stray
    /// closer, no bare `<`, no string that looks like a URL), every block is a plain `name: value` list (or, for
    /// `@media` and the like, a list of such rules), and its only URLs are the `urls`, each a whole
    /// `url(…)` in a declaration's value.
    Rule { span: Range<usize>, plain: bool, urls: Vec<PlainUrl> },
    /// A qualified rule the input ends inside of, before its block: a parse error.
    Unclosed,
}

/// At-rules whose block holds rules (the cleaner's list, `clean_rule`).
pub(super) const RULE_LISTS: [&str; 8] = ["media", "supports", "document", "-moz-document", "layer", "container", "scope", "starting-style"];

type Reader<'s> = fn(&mut Walk<'s>, &mut Parser<'_, '_>, usize) -> bool;

struct Walk<'s> {
    src: &'s str,
    urls: Vec<PlainUrl>,
    /// In a declaration's value: its property, and the block's kind.
    value_of: Option<(String, &'static str)>,
    /// The string argument of the `url("…")` function being read.
    pending: Option<String>,
}

impl<'s> Walk<'s> {
    /// Is one token (and, for a function or `()` `[]` block, what it holds) plain?
    fn token(&mut self, p: &mut Parser<'_, '_>, start: usize, t: &Token<'_>, depth: usize) -> bool {
        let end = p.position().byte_index();
        match t {
            Token::QuotedString(v) => string_closed(&self.src.as_bytes()[start..end]) && !urlish(v),
            Token::Comment(_) => self.src[start..end].ends_with("*/") && end - start >= 4,
            Token::UnquotedUrl(v) => url_closed(&self.src.as_bytes()[start..end]) && self.url(v, start..end),
            Token::Function(name) if name.eq_ignore_ascii_case("url") || name.eq_ignore_ascii_case("src") => {
                let ok = self.nested(p, depth, |w, p, _| {
                    let mut one = None;
                    loop {
                        let start = p.position().byte_index();
                        match p.next_including_whitespace_and_comments() {
                            Err(_) => break,
                            Ok(Token::WhiteSpace(_)) => {}
                            Ok(Token::QuotedString(v)) if one.is_none() => {
                                let v = v.to_string();
                                if !string_closed(&w.src.as_bytes()[start..p.position().byte_index()]) {
                                    return false;
                                }
                                one = Some(v);
                            }
                            Ok(_) => return false,
                        }
                    }
                    w.pending = one;
                    w.pending.is_some()
                });
                let end = p.position().byte_index();
                let url = self.pending.take();
                ok && self.src[..end].ends_with(')') && url.is_some_and(|u| self.url(&u, start..end))
            }
            Token::Function(_) | Token::ParenthesisBlock | Token::SquareBracketBlock => self.nested(p, depth, Self::values),
            Token::CurlyBracketBlock
            | Token::BadString(_)
            | Token::BadUrl(_)
            | Token::CloseParenthesis
            | Token::CloseSquareBracket
            | Token::CloseCurlyBracket
            | Token::CDO
            | Token::CDC
            | Token::AtKeyword(_)
            | Token::Delim('\\')
            // a `<` becomes the escape `\3c ` when a changed sheet is written, which can run on into
            // the name before it (`@media<x` would become the at-rule `media<x`): such a rule is
            // written by the cleaner, which keeps the two apart
            | Token::Delim('<') => false,
            _ => true,
        }
    }

    /// A URL token in a declaration's value is recorded; anywhere else it is not plain.
    fn url(&mut self, url: &str, span: Range<usize>) -> bool {
        let Some((property, kind)) = &self.value_of else { return false };
        self.urls.push(PlainUrl { url: url.to_owned(), kind, property: property.clone(), span });
        true
    }

    /// Read a nested block with `inner` (false when too deep), through its end: the parser's
    /// position is then after the block, where the piece's span may end.
    fn nested(&mut self, p: &mut Parser<'_, '_>, depth: usize, inner: Reader<'s>) -> bool {
        p.parse_nested_block(|p| -> Result<bool, cssparser::ParseError<'_, ()>> {
            Ok(depth < MAX_DEPTH && inner(self, p, depth + 1))
        })
        .unwrap_or(false)
    }

    /// A `{}` block read with `inner`, and closed by its `}` (not by the end of the input).
    fn block(&mut self, p: &mut Parser<'_, '_>, depth: usize, inner: Reader<'s>) -> bool {
        let ok = self.nested(p, depth, inner);
        ok && self.src.as_bytes().get(p.position().byte_index().wrapping_sub(1)) == Some(&b'}')
    }

    /// Values (or a function's arguments): plain tokens only.
    fn values(&mut self, p: &mut Parser<'_, '_>, depth: usize) -> bool {
        loop {
            let start = p.position().byte_index();
            let Ok(t) = p.next_including_whitespace_and_comments().cloned() else { return true };
            if !self.token(p, start, &t, depth) {
                return false;
            }
        }
    }

    /// A block of `name: value` declarations (`;` between them), nothing else.
    fn declarations(&mut self, p: &mut Parser<'_, '_>, depth: usize, kind: &'static str) -> bool {
        #[derive(PartialEq)]
        enum At {
            Start,
            Name,
            Value,
        }
        let mut at = At::Start;
        let mut name = String::new();
        let ok = loop {
            let start = p.position().byte_index();
            let Ok(t) = p.next_including_whitespace_and_comments().cloned() else { break at != At::Name };
            at = match (at, &t) {
                (at, Token::WhiteSpace(_)) => at,
                (at, Token::Comment(_)) if self.token(p, start, &t, depth) => at,
                (At::Start, Token::Semicolon) => At::Start,
                (At::Start, Token::Ident(n)) => {
                    name = n.to_ascii_lowercase();
                    At::Name
                }
                (At::Name, Token::Colon) => {
                    self.value_of = Some((std::mem::take(&mut name), kind));
                    At::Value
                }
                (At::Value, Token::Semicolon) => {
                    self.value_of = None;
                    At::Start
                }
                (At::Value, t) if self.token(p, start, t, depth) => At::Value,
                _ => break false,
            };
        };
        self.value_of = None;
        ok
    }

    fn style_block(&mut self, p: &mut Parser<'_, '_>, depth: usize) -> bool {
        self.declarations(p, depth, "css")
    }

    fn font_block(&mut self, p: &mut Parser<'_, '_>, depth: usize) -> bool {
        self.declarations(p, depth, "font")
    }

    /// A qualified rule from its first token (already read): its prelude, then its block.
    fn qualified(&mut self, p: &mut Parser<'_, '_>, start: usize, first: Token<'_>, depth: usize) -> Option<bool> {
        let (mut plain, mut t, mut start) = (true, first, start);
        loop {
            if matches!(t, Token::CurlyBracketBlock) {
                return Some(self.block(p, depth, Self::style_block) && plain);
            }
            plain = plain && self.token(p, start, &t, depth);
            start = p.position().byte_index();
            t = p.next_including_whitespace_and_comments().ok()?.clone();
        }
    }

    /// A block of plain qualified rules (the content of `@media` and the like).
    fn rules(&mut self, p: &mut Parser<'_, '_>, depth: usize) -> bool {
        loop {
            let start = p.position().byte_index();
            let Ok(t) = p.next_including_whitespace_and_comments().cloned() else { return true };
            let plain = match t {
                Token::WhiteSpace(_) => true,
                Token::Comment(_) => self.token(p, start, &t, depth),
                _ => self.qualified(p, start, t, depth) == Some(true),
            };
            if !plain {
                return false;
            }
        }
    }

    /// An at-rule after its keyword: its prelude, then its `;` or block (the input may end first).
    fn at_rule(&mut self, p: &mut Parser<'_, '_>, name: &str, depth: usize) -> bool {
        let mut plain = true;
        loop {
            let start = p.position().byte_index();
            match p.next_including_whitespace_and_comments().cloned() {
                Err(_) => return false,
                Ok(Token::Semicolon) => return plain,
                Ok(Token::CurlyBracketBlock) => {
                    let lower = name.to_ascii_lowercase();
                    let ok = if RULE_LISTS.contains(&lower.as_str()) {
                        self.block(p, depth, Self::rules)
                    } else if lower == "font-face" {
                        self.block(p, depth, Self::font_block)
                    } else {
                        self.nested(p, depth, |_, _, _| false)
                    };
                    return ok && plain;
                }
                Ok(t) => plain = plain && self.token(p, start, &t, depth),
            }
        }
    }
}

/// The pieces of `src` (already `tokens::normalise`d), in order.
pub fn pieces(src: &str) -> Vec<Piece> {
    let mut input = ParserInput::new(src);
    let mut p = Parser::new(&mut input);
    let mut walk = Walk { src, urls: Vec::new(), value_of: None, pending: None };
    let mut out = Vec::new();
    while let Some(piece) = walk.piece(&mut p) {
        out.push(piece);
    }
    out
}

/// The one piece that starts at `start` (a top-level boundary of `src`: where `pieces` starts one),
/// with its spans in `src`, and where it ends. The top level keeps no state between pieces, so the
/// piece read from `start` alone is the piece `pieces` reads there (`scan` asks this of the rules
/// it cannot be sure of).
pub(super) fn piece_at(src: &str, start: usize) -> Option<(Piece, usize)> {
    let rest = &src[start..];
    let mut input = ParserInput::new(rest);
    let mut p = Parser::new(&mut input);
    let mut walk = Walk { src: rest, urls: Vec::new(), value_of: None, pending: None };
    let piece = walk.piece(&mut p)?;
    let end = start + p.position().byte_index();
    let shift = |r: Range<usize>| r.start + start..r.end + start;
    Some((
        match piece {
            Piece::Trivia(r) => Piece::Trivia(shift(r)),
            Piece::Rule { span, plain, mut urls } => {
                for u in &mut urls {
                    u.span = shift(u.span.clone());
                }
                Piece::Rule { span: shift(span), plain, urls }
            }
            other => other,
        },
        end,
    ))
}

impl Walk<'_> {
    /// The next top-level piece, or None at the end of the input.
    fn piece(&mut self, p: &mut Parser<'_, '_>) -> Option<Piece> {
        let start = p.position().byte_index();
        let first = p.next_including_whitespace_and_comments().ok()?.clone();
        let plain = match first {
            Token::WhiteSpace(_) | Token::Comment(_) => return Some(Piece::Trivia(start..p.position().byte_index())),
            Token::CDO | Token::CDC => return Some(Piece::Cdo),
            Token::AtKeyword(ref name) => self.at_rule(p, name, 0),
            t => match self.qualified(p, start, t, 0) {
                Some(plain) => plain,
                None => return Some(Piece::Unclosed),
            },
        };
        let urls = std::mem::take(&mut self.urls);
        Some(Piece::Rule { span: start..p.position().byte_index(), plain, urls: if plain { urls } else { Vec::new() } })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::css::parse::{parse_stylesheet, Item};
    use crate::css::tokens::tokenize;

    /// Sheets the walk is held to (the scan is held to the walk on them too).
    pub(in crate::css) const SHEETS: [&str; 10] = [
        "a{b:c} /* x */ @media screen{.a{x:url(y)}} <!-- @import 'q'; d e{f:g}-->",
        "@font-face{src:url(a)}@import url(b) screen;p{}{x:y}",
        "a{content:'}'} b[title=\"{\"]{c:d} e{x:url({)}",
        "}a{b:c} ){d:e} @x; @y",
        "@keyframes k{from{a:b}to{a:c}} @page{margin:0} @mediax{ a:b; {c:url(http://t.test/nest)} } q{r:s}",
        "h1 { color: red } h2 { unclosed",
        "a{x:\"unclosed\n} b{c:d}",
        "",
        "  ",
        PLAIN,
    ];

    const PLAIN: &str = concat!(
        "a{Background:url( x.png ) no-repeat;b:var(--v, URL('y.png'))} ",
        "@media (max-width:600px){.c{d:e}.f{list-style:url(\"z\")}} ",
        "@font-face{font-family:'F';src:url(f.woff) format('woff')} ",
        "@media<x{.y{z:0}} ",
        "g{h:'https://t.test/s.gif'} i{j:url(k} l{m:n}"
    );

    /// Each rule piece, read alone, is the one rule tinycss2's algorithm cuts there from the whole.
    #[test]
    fn pieces_are_the_parsers_rules() {
        for sheet in SHEETS {
            let whole = tokenize(sheet, false).unwrap();
            let items: Vec<Item> = parse_stylesheet(&whole, false, false);
            let mut rules = items.iter().filter(|i| matches!(i, Item::QualifiedRule { .. } | Item::AtRule { .. } | Item::Error { .. }));
            for piece in pieces(sheet) {
                match piece {
                    Piece::Rule { span: r, .. } => {
                        let alone = tokenize(&sheet[r.clone()], false).unwrap();
                        let one = parse_stylesheet(&alone, false, false);
                        assert_eq!(one.len(), 1, "{sheet:?} {r:?}");
                        assert_eq!(Some(&one[0]), rules.next(), "{sheet:?}");
                    }
                    Piece::Unclosed => assert_eq!(rules.next(), Some(&Item::Error { eof: true })),
                    Piece::Trivia(r) => assert!(sheet[r.clone()].trim().is_empty() || sheet[r].starts_with("/*")),
                    Piece::Cdo => {}
                }
            }
            assert_eq!(rules.next(), None, "{sheet:?}");
        }
    }

    /// A plain rule's URLs are every url() of its declarations, in order, with kind and property.
    #[test]
    fn plain_rules_and_their_urls() {
        let sheet = PLAIN;
        let got: Vec<(bool, Vec<(String, &str, String)>)> = pieces(sheet)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Rule { plain, urls, .. } => Some((plain, urls.into_iter().map(|u| (u.url, u.kind, u.property)).collect())),
                _ => None,
            })
            .collect();
        let u = |a: &str, k: &'static str, p: &str| (a.to_string(), k, p.to_string());
        assert_eq!(got, vec![
            (true, vec![u("x.png", "css", "background"), u("y.png", "css", "b")]),
            (true, vec![u("z", "css", "list-style")]),
            (true, vec![u("f.woff", "font", "src")]),
            (false, vec![]), // a bare `<` (escaped when a changed sheet is written) is written by the cleaner
            (false, vec![]), // a string that looks like a URL is judged by the cleaner
            (false, vec![]), // url( cut short swallows the rest
        ]);
    }
}
