//! A sheet's pieces read from its bytes, without the tokenizer where the bytes make the answer
//! certain: the same pieces as `sheet::pieces` (same spans, plain flags and URLs), found at a
//! fraction of the cost on the template sheets newsletters carry (tens of KB of `name: value` rules,
//! `@media` lists, `@font-face` and `url()` backgrounds).
//!
//! A rule is read here only while every byte is one whose token is certain: no backslash, no `<`,
//! no comment inside a rule, no `@` but the rule's own (`@media` and the other rule lists, and
//! `@font-face`), strings closed on their line and not URL-like, brackets matched, a `url(` only
//! where a `url()` token must start (after a space, `:`, `,` or `(`) and only in a declaration's
//! value. Such a rule is plain, and its `url()`s are read as the tokenizer reads them. At the first
//! byte that is not certain the rule is handed to the tokenizer's walk (`sheet::piece_at`), which
//! reads that one piece as `pieces` would; the bytes resume after it. Whitespace and closed
//! comments between rules are trivia as they are.

use memchr::memmem;

use super::sheet::{piece_at, Piece, PlainUrl, RULE_LISTS};
use super::urlish;

/// Brackets deeper than this are left to the tokenizer (its walk has its own limit).
const MAX_NESTING: usize = 32;

/// The pieces of `src` (already `tokens::normalise`d), in order: `sheet::pieces`, read faster.
pub fn pieces(src: &str) -> Vec<Piece> {
    read(src, &mut 0)
}

/// [`pieces`], counting the rules read from the bytes alone in `settled`.
fn read(src: &str, settled: &mut usize) -> Vec<Piece> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if is_space(b[i]) {
            let end = b[i..].iter().position(|&c| !is_space(c)).map_or(b.len(), |n| i + n);
            out.push(Piece::Trivia(i..end));
            i = end;
            continue;
        }
        if b[i..].starts_with(b"/*") {
            if let Some(n) = memmem::find(&b[i + 2..], b"*/") {
                out.push(Piece::Trivia(i..i + n + 4));
                i += n + 4;
                continue;
            }
        }
        let mut rule = Rule { src, b, urls: Vec::new(), open: Vec::new() };
        let fast = match b[i] {
            b'@' => rule.at_rule(i),
            b'/' if b.get(i + 1) == Some(&b'*') => None,
            _ => rule.qualified(i),
        };
        match fast {
            Some(end) => {
                *settled += 1;
                out.push(Piece::Rule { span: i..end, plain: true, urls: rule.urls });
                i = end;
            }
            None => match piece_at(src, i) {
                Some((piece, end)) if end > i => {
                    out.push(piece);
                    i = end;
                }
                _ => break,
            },
        }
    }
    out
}

/// The bytes `Rule::tokens` passes over with no more thought: name bytes, whitespace and the
/// delimiters whose tokens are always plain (not `(`, brackets, quotes, `/`, `\\`, `<`, `>`, `@`).
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = is_name(b) || matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'!' | b'#' | b'$' | b'%' | b'&' | b'*' | b'+' | b',' | b'.' | b':' | b'=' | b'?' | b'^' | b'`' | b'|' | b'~');
        c += 1;
    }
    t
};

/// ASCII name bytes (letters, digits, `_`, `-`): a property's or at-rule's name as read here. A
/// table, as `PLAIN`: the names of a template's declarations are a third of its bytes.
const ASCII_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        c += 1;
    }
    t
};

/// CSS whitespace (the tokenizer's: normalised input holds no `\r` or form feed, but either is one).
const fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// A byte of a name (non-ASCII included; a backslash is never read here).
const fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c >= 0x80
}

/// A byte after which a name always starts a new token (so `url(` there is a `url()` token).
fn starts_token_after(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b':' | b',' | b'(')
}

/// A control byte: the tokenizer reads some of them specially (NUL, bad URLs); left to it.
fn is_control(c: u8) -> bool {
    (c < 0x20 && !is_space(c)) || c == 0x7f
}

/// One rule being read; `None` from any reader means "not certain here: ask the tokenizer".
struct Rule<'s> {
    src: &'s str,
    b: &'s [u8],
    urls: Vec<PlainUrl>,
    /// The brackets open in the tokens being read.
    open: Vec<u8>,
}

impl Rule<'_> {
    fn skip_space(&self, mut i: usize) -> usize {
        while self.b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        i
    }

    /// Tokens from `i` (a token boundary; `from` is where this run of tokens began) up to the first
    /// of `stops` outside brackets, whose index is returned. `value` is the declaration being read
    /// (its property as written and the block's kind), if any: only there may a `url()` stand.
    fn tokens(&mut self, mut i: usize, from: usize, stops: &[u8], value: Option<(&str, &'static str)>) -> Option<usize> {
        let b = self.b;
        self.open.clear();
        loop {
            while b.get(i).is_some_and(|&c| PLAIN[c as usize]) {
                i += 1;
            }
            let c = *b.get(i)?;
            match c {
                b'"' | b'\'' => {
                    let (content, end) = self.string(i)?;
                    if urlish(content) {
                        return None;
                    }
                    i = end;
                }
                b'(' => {
                    let mut name = i;
                    while name > from && is_name(b[name - 1]) {
                        name -= 1;
                    }
                    let word = &b[name..i];
                    if word.eq_ignore_ascii_case(b"url") {
                        let (property, kind) = value?;
                        if !starts_token_after(b[name - 1]) {
                            return None;
                        }
                        let (url, end) = self.url(i + 1)?;
                        self.urls.push(PlainUrl { url: url.to_owned(), kind, property: property.to_ascii_lowercase(), span: name..end });
                        i = end;
                        continue;
                    }
                    if word.eq_ignore_ascii_case(b"src") || self.open.len() >= MAX_NESTING {
                        return None;
                    }
                    self.open.push(b')');
                    i += 1;
                }
                b'[' => {
                    if self.open.len() >= MAX_NESTING {
                        return None;
                    }
                    self.open.push(b']');
                    i += 1;
                }
                b')' | b']' => {
                    if self.open.pop() != Some(c) {
                        return None;
                    }
                    i += 1;
                }
                b'{' | b'}' | b';' => {
                    return (self.open.is_empty() && stops.contains(&c)).then_some(i);
                }
                b'/' if b.get(i + 1) == Some(&b'*') => return None,
                // `-->` (a CDC token where it starts one) is left to the tokenizer wherever it is
                b'>' if i >= 2 && &b[i - 2..i] == b"--" => return None,
                b'\\' | b'<' | b'@' => return None,
                c if is_control(c) => return None,
                _ => i += 1,
            }
        }
    }

    /// A string from its opening quote at `i`: its content and the index after its closing
    /// quote, if it closes on its line with no escape.
    fn string(&self, i: usize) -> Option<(&str, usize)> {
        let q = self.b[i];
        let n = memchr::memchr3(q, b'\\', b'\n', &self.b[i + 1..])?;
        let close = i + 1 + n;
        if self.b[close] != q || self.b[i + 1..close].iter().any(|&c| matches!(c, b'\r' | b'\x0c' | 0)) {
            return None;
        }
        Some((&self.src[i + 1..close], close + 1))
    }

    /// A `url(` whose `(` is just before `i`: the URL and the index after the `)`, for a whole
    /// `url()` token (unquoted) or a `url("…")` function holding one string.
    fn url(&self, i: usize) -> Option<(&str, usize)> {
        let b = self.b;
        let start = self.skip_space(i);
        match *b.get(start)? {
            b')' => Some(("", start + 1)),
            b'"' | b'\'' => {
                let (url, end) = self.string(start)?;
                let close = self.skip_space(end);
                (b.get(close) == Some(&b')')).then_some((url, close + 1))
            }
            _ => {
                let mut end = start;
                loop {
                    match *b.get(end)? {
                        b')' => return Some((&self.src[start..end], end + 1)),
                        c if is_space(c) => {
                            let close = self.skip_space(end);
                            return (b.get(close) == Some(&b')')).then_some((&self.src[start..end], close + 1));
                        }
                        b'"' | b'\'' | b'(' | b'\\' | 0 => return None,
                        c if is_control(c) => return None,
                        _ => end += 1,
                    }
                }
            }
        }
    }

    /// A block of `name: value` declarations after its `{` at `i - 1`: the index after its `}`.
    fn declarations(&mut self, mut i: usize, kind: &'static str) -> Option<usize> {
        let b = self.b;
        loop {
            i = self.skip_space(i);
            match *b.get(i)? {
                b';' => i += 1,
                b'}' => return Some(i + 1),
                c if c.is_ascii_alphabetic() || c == b'_' || (c == b'-' && b.get(i + 1).is_some_and(|&d| d.is_ascii_alphabetic() || d == b'_' || d == b'-')) => {
                    let start = i;
                    while b.get(i).is_some_and(|&c| ASCII_NAME[c as usize]) {
                        i += 1;
                    }
                    let name = &self.src[start..i];
                    i = self.skip_space(i);
                    if b.get(i) != Some(&b':') {
                        return None; // a function, a non-ASCII or escaped name, a stray token: the tokenizer's
                    }
                    let end = self.tokens(i + 1, i + 1, b";}", Some((name, kind)))?;
                    if b[end] == b'}' {
                        return Some(end + 1);
                    }
                    i = end + 1;
                }
                _ => return None,
            }
        }
    }

    /// A qualified rule from its first byte at `i`: its prelude, then its declarations.
    fn qualified(&mut self, i: usize) -> Option<usize> {
        let open = self.tokens(i, i, b"{", None)?;
        self.declarations(open + 1, "css")
    }

    /// An at-rule from its `@` at `i`: only the rule lists and `@font-face`, with a block.
    fn at_rule(&mut self, i: usize) -> Option<usize> {
        let b = self.b;
        let mut end = i + 1;
        while b.get(end).is_some_and(|&c| ASCII_NAME[c as usize]) {
            end += 1;
        }
        if b.get(end).is_some_and(|&c| c >= 0x80 || c == b'\\') {
            return None;
        }
        let name = self.src[i + 1..end].to_ascii_lowercase();
        let font = name == "font-face";
        if !font && !RULE_LISTS.contains(&name.as_str()) {
            return None;
        }
        let open = self.tokens(end, end, b"{", None)?;
        if font {
            return self.declarations(open + 1, "font");
        }
        let mut i = open + 1;
        loop {
            i = self.skip_space(i);
            match *b.get(i)? {
                b'}' => return Some(i + 1),
                b'@' => return None,
                b'/' if b.get(i + 1) == Some(&b'*') => return None,
                _ => i = self.qualified(i)?,
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::css::sheet;
    use crate::css::tokens::normalise;

    /// The scan's pieces are the tokenizer walk's; returns how many rules the bytes alone decided.
    fn agree(text: &str) -> usize {
        let src = normalise(text);
        let mut fast = 0;
        assert_eq!(read(&src, &mut fast), sheet::pieces(&src), "the scan and the walk differ on {src:?}");
        fast
    }

    #[test]
    fn template_rules_are_read_without_the_tokenizer() {
        let sheet = "a{b:c} @media (max-width:600px){.x{background:url( 'y.png' )}} @font-face{src:URL(f.woff)}";
        assert_eq!(agree(sheet), 3);
        let urls: Vec<_> = pieces(sheet).into_iter().flat_map(|p| match p {
            Piece::Rule { urls, .. } => urls,
            _ => Vec::new(),
        }).map(|u| (u.url, u.kind, u.property, u.span)).collect();
        assert_eq!(urls, [("y.png".to_string(), "css", "background".to_string(), 46..60),
                          ("f.woff".to_string(), "font", "src".to_string(), 78..89)]);
    }

    #[test]
    fn what_the_bytes_cannot_settle_goes_to_the_tokenizer() {
        for (sheet, fast) in [
            ("a{b:url(x)}", 1),
            ("a{b:#url(x)} c{d:.url(x)} e{f:5url(x)} g{h:-url(x)}", 2), // not url() tokens, or not certainly
            ("a{b:u\\72l(x)} c{d:e}", 1),
            ("a{b:'http://t.test/x'} c{content:'x'}", 1),
            ("a{b:c/*x*/} /*y*/ d{e:f} /*", 1),
            ("<!-- a{b:c} --> d-->{e:f}", 1),
            ("@import url(x); @media x{@media y{a{b:c}}} @font-face{src:url(a)}", 1),
            ("a{b:url(x y)} c{d:url('x' 'y')} e{f:url(\"x\"/**/)} g{src(x)}", 0),
            ("a{b:(c;d)} a{b:[c} a{b:c]} a{b:{c}} a{*zoom:1} a{b c:d} a{-1:x}", 0),
            ("a{b:c", 0),
        ] {
            assert_eq!(agree(sheet), fast, "{sheet:?}");
        }
    }

    /// The sheets the walk's own tests read, every `<style>` of the vectors and test data (and each
    /// such file whole, as hostile input), and the heavy template sheets of `benchmarks/gen.py`.
    #[test]
    fn recorded_and_template_sheets() {
        for sheet in sheet::tests::SHEETS {
            agree(sheet);
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (mut files, mut fast) = (0, 0);
        let mut dirs = vec![root.join("tests/vectors"), root.join("tests/data")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("test data").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&path) else { continue };
                files += 1;
                agree(&text);
                let mut rest = text.as_str();
                while let Some(open) = rest.find("<style") {
                    let Some(gt) = rest[open..].find('>') else { break };
                    let body = &rest[open + gt + 1..];
                    let end = body.find("</style").unwrap_or(body.len());
                    fast += agree(&body[..end]);
                    rest = &body[end..];
                }
            }
        }
        assert!(files > 50 && fast > 10, "{files} files, {fast} rules read from bytes");
        // the heavy templates
        let (mut sheets, mut rules, mut fast) = (0, 0, 0);
        for sheet in &heavy_template_sheets() {
            sheets += 1;
            fast += agree(sheet);
            rules += sheet::pieces(sheet).iter().filter(|p| matches!(p, Piece::Rule { .. })).count();
        }
        assert!(sheets >= 40, "{sheets} heavy sheets");
        // nearly every template rule is settled by its bytes
        assert!(fast * 100 >= rules * 95, "{fast} of {rules} template rules read from bytes");
    }

    /// The heavy template sheets of `benchmarks/gen.py` (Python's standard library only), 40 bodies' worth.
    pub(in crate::css) fn heavy_template_sheets() -> Vec<String> {
        crate::judge_corpus::from_gen_py("import gen, sys\nfor i in range(40):\n    for s in gen.heavy_style_blocks(i): sys.stdout.write(s + '\\0')")
    }

    #[test]
    fn hostile_sheets() {
        // 200,000 sheets (a fixed xorshift: the same every run): template-like rules, cut into at
        // random places by the bytes the scan turns on, so that it both decides and defers often.
        const RULES: [&str; 12] = [
            "a{b:c}", ".x y>z{background:url(y.png) no-repeat;color:red !important}", " ", "\n",
            "@media screen and (max-width:600px){.a{b:url( 'q' )}.c[d]{e:f}}", "/* c */",
            "@font-face{font-family:'F';src:url(f.woff) format('woff'),URL(\"g\")}", "{x:var(--v,url(z))}",
            "@MEDIA(x){}", "a:hover,b{--x:{};y:z}", "u{list-style:url()}", "p{margin:0 auto;width:50%}",
        ];
        const BYTES: [&str; 44] = [
            "@media screen{", "@font-face{", "@import ", "@", "{", "}", ";", ":", "b:", "Src:", "url(", "URL( ",
            "url(\"", "src(", ")", "(", "[", "]", "\"", "'", "'http://t.test/'", "/*", "*/", "<!--", "-->", "<",
            "\\", "\\75 rl(", "#", ".", "5", "-", "--x:", " ", "\n", "\r\n", "\x0c", "\0", "é", "a", "x.png", ",",
            "*", "!",
        ];
        let mut rng = crate::testrand::XorShift(0x2545_f491_4f6c_dd1d);
        let mut next = |n: usize| rng.below(n);
        let (mut fast, mut deferred) = (0, 0);
        for _ in 0..200_000 {
            let mut sheet = String::new();
            for _ in 0..next(7) {
                sheet.push_str(RULES[next(RULES.len())]);
            }
            for _ in 0..next(4) {
                let mut at = next(sheet.len() + 1);
                while !sheet.is_char_boundary(at) {
                    at -= 1;
                }
                sheet.insert_str(at, BYTES[next(BYTES.len())]);
            }
            let n = agree(&sheet);
            fast += n;
            let rules = sheet::pieces(&normalise(&sheet)).iter().filter(|p| matches!(p, Piece::Rule { .. } | Piece::Unclosed)).count();
            deferred += rules - n;
        }
        assert!(fast > 100_000 && deferred > 100_000, "both ways were tried: {fast} from bytes, {deferred} deferred");
    }
}
