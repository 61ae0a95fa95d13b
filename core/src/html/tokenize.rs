//! A tokenizer for the shapes mail HTML takes, feeding html5ever's own tree builder.
//!
//! html5ever's tokenizer reads a character at a time and copies every name and value into a
//! buffer a character at a time: over half of a cleaning. This one reads runs (`memchr`) and
//! hands the tree builder the tokens html5ever's tokenizer would, text as slices of the input.
//! Only two things may differ, and neither changes the tree: text may come in other chunks, and
//! parse errors are not reported. The tree builder is html5ever's in both cases, and its
//! answers (raw text after `<style>`, `<title>`, ...; CDATA only in foreign content) drive this
//! tokenizer as they drive html5ever's.
//!
//! What it was not written for it declines (`Declined`), and the caller parses the whole
//! document again with html5ever's tokenizer: a NUL, a plaintext element, CDATA in SVG or MathML,
//! a doctype other than the usual `<!DOCTYPE name PUBLIC "…" "…">` shapes, a tag, comment or
//! doctype the end of the input cuts off, a comment that ends abruptly (`<!-->`) or with `--!>`.
//! Scripts are read, the escaped states `<!--` opens included. The `tokenize` fuzz target and
//! this module's tests hold it to html5ever's token stream on hostile and generated input.
use html5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{Doctype, Tag, TagKind, Token, TokenSink, TokenSinkResult};
use html5ever::{ns, Attribute, LocalName, QualName};
use memchr::{memchr, memchr2, memmem};
use rustc_hash::FxHashSet;

/// Text to an end tag, as the tree builder asks for it after `<title>`/`<textarea>` (character
/// references read), `<style>`/`<xmp>`/… (raw) or `<script>` (raw, with the escaped states that
/// `<!--` opens: `escaped_script_end`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Raw {
    Rcdata,
    Rawtext,
    Script,
}

/// This document needs html5ever's own tokenizer (see the module's notes).
#[derive(Debug, PartialEq, Eq)]
pub struct Declined;

type Step<T> = Result<T, Declined>;

/// The input as html5ever's tokenizer reads it: a leading byte-order mark dropped and line ends
/// normalised (CR LF and CR to LF), which html5ever does as it reads. Declines a NUL.
pub fn prepare(html: &str) -> Step<StrTendril> {
    if memchr(0, html.as_bytes()).is_some() || html.len() >= u32::MAX as usize {
        return Err(Declined);
    }
    let html = html.strip_prefix('\u{feff}').unwrap_or(html);
    if memchr(b'\r', html.as_bytes()).is_none() {
        return Ok(StrTendril::from_slice(html));
    }
    Ok(StrTendril::from_slice(&html.replace("\r\n", "\n").replace('\r', "\n")))
}

/// Tokenize `input` (from `prepare`) into `sink`, ending with the end-of-file token. On
/// `Declined` the sink has seen part of the document and must be thrown away.
pub fn run<S: TokenSink>(input: &StrTendril, sink: &S) -> Step<()> {
    let mut t = Tokenizer { input, s: input, b: input.as_bytes(), pos: 0, text: 0, sink };
    t.data()?;
    t.emit_plain(Token::EOFToken)?;
    Ok(())
}

/// Past this many attributes a tag's duplicate check uses a set.
const MANY_ATTRIBUTES: usize = 32;

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b' ')
}

/// The bytes that end a tag's name.
fn ends_tag_name(b: u8) -> bool {
    is_space(b) || b == b'/' || b == b'>'
}

/// The run of ASCII letters at `from`: its end.
fn letters_end(b: &[u8], from: usize) -> usize {
    from + b[from.min(b.len())..].iter().take_while(|c| c.is_ascii_alphabetic()).count()
}

/// Is the `<` at `lt` the start of `name`'s end tag (the appropriate end tag of raw text)? The end
/// of the tag's name, when it is.
fn end_tag_at(b: &[u8], lt: usize, name: &LocalName) -> Option<usize> {
    if b.get(lt + 1) != Some(&b'/') {
        return None;
    }
    let end = letters_end(b, lt + 2);
    let appropriate = end - (lt + 2) == name.len() && b[lt + 2..end].eq_ignore_ascii_case(name.as_bytes());
    (appropriate && b.get(end).is_some_and(|&c| ends_tag_name(c))).then_some(end)
}

/// Where a script ends once `<!--` has put it in the escaped states (`from`: after the `<!--`),
/// by the rules of html5ever's tokenizer: the `<` of its end tag and the end of the tag's name, or
/// None when the input ends first. `<script>` inside the escaped text opens the double-escaped
/// state, where `</script>` only closes that, and `-->` goes back to plain script data. Only where
/// the text ends matters: all of it is characters.
fn escaped_script_end(b: &[u8], from: usize, name: &LocalName) -> Option<(usize, usize)> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum S { Data, Escaped, Dash, DashDash, Double, DoubleDash, DoubleDashDash }
    let (mut s, mut i) = (S::DashDash, from);
    while i < b.len() {
        let c = b[i];
        let double = matches!(s, S::Double | S::DoubleDash | S::DoubleDashDash);
        if c == b'<' {
            if s == S::Data {
                // script data: an end tag, or `<!--` again
                if let Some(end) = end_tag_at(b, i, name) {
                    return Some((i, end));
                }
                if b[i + 1..].starts_with(b"!--") {
                    s = S::DashDash;
                    i += 4;
                } else {
                    i += 1;
                }
                continue;
            }
            if !double && b.get(i + 1) == Some(&b'/') {
                // escaped end tag open
                if let Some(end) = end_tag_at(b, i, name) {
                    return Some((i, end));
                }
                s = S::Escaped;
                i = letters_end(b, i + 2);
                continue;
            }
            if double && b.get(i + 1) != Some(&b'/') {
                s = S::Double;
                i += 1;
                continue;
            }
            // double escape start (`<script`) or end (`</script`): the letters, then a space, `/` or `>`
            let start = if double { i + 2 } else { i + 1 };
            let end = letters_end(b, start);
            if end == start {
                s = if double { S::Double } else { S::Escaped };
                i = start;
                continue;
            }
            match b.get(end) {
                None => return None,
                Some(&t) if ends_tag_name(t) => {
                    let script = b[start..end].eq_ignore_ascii_case(b"script");
                    s = match (double, script) {
                        (false, true) => S::Double,
                        (true, true) => S::Escaped,
                        (true, false) => S::Double,
                        (false, false) => S::Escaped,
                    };
                    i = end + 1;
                }
                Some(_) => {
                    s = if double { S::Double } else { S::Escaped };
                    i = end;
                }
            }
            continue;
        }
        if s == S::Data {
            // plain script data again: to the next `<`
            match memchr(b'<', &b[i..]) {
                Some(n) => i += n,
                None => return None,
            }
            continue;
        }
        s = match (s, c) {
            (S::Escaped, b'-') => S::Dash,
            (S::Dash | S::DashDash, b'-') => S::DashDash,
            (S::DashDash, b'>') => S::Data,
            (S::Escaped | S::Dash | S::DashDash, _) => S::Escaped,
            (S::Double, b'-') => S::DoubleDash,
            (S::DoubleDash | S::DoubleDashDash, b'-') => S::DoubleDashDash,
            (S::DoubleDashDash, b'>') => S::Data,
            (_, _) => S::Double,
        };
        i += 1;
    }
    None
}

/// Longer than any entity name with its `;` (the longest, `&CounterClockwiseContourIntegral;`, is 32).
const LONGEST_ENTITY: usize = 40;

/// A tag name or attribute name as html5ever makes it: ASCII capitals lowered, nothing else.
fn lowered(name: &str) -> LocalName {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        LocalName::from(name.to_ascii_lowercase())
    } else if let Some(known) = COMMON_NAMES.get(name) {
        known.clone() // (a static atom: no hashing of the name, no count to bump)
    } else {
        LocalName::from(name)
    }
}

/// The tag and attribute names of most mail, interned once: `LocalName::from` hashes each name
/// with SipHash to find its static atom, a tenth of reading a tag.
static COMMON_NAMES: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, LocalName>> = std::sync::LazyLock::new(|| {
    const NAMES: &[&str] = &[
        "a", "b", "i", "u", "p", "br", "hr", "td", "tr", "th", "em", "li", "ul", "ol", "h1", "h2", "h3", "div", "img",
        "span", "font", "table", "tbody", "thead", "center", "strong", "style", "meta", "title", "head", "body", "html",
        "link", "sup", "small", "big", "pre", "o:p", "v:rect", "v:fill", "v:textbox", "v:roundrect", "v:image",
        "class", "id", "width", "height", "align", "valign", "border", "cellpadding", "cellspacing", "bgcolor",
        "href", "src", "alt", "target", "role", "dir", "lang", "color", "face", "size", "name", "content", "http-equiv",
        "type", "rel", "colspan", "rowspan", "background", "charset", "xmlns", "data", "srcset", "media", "hidden",
    ];
    NAMES.iter().map(|&n| (n, LocalName::from(n))).collect()
});

struct Tokenizer<'a, S> {
    input: &'a StrTendril,
    s: &'a str,
    b: &'a [u8],
    /// The next byte to read.
    pos: usize,
    /// Where the text not yet emitted starts (text runs up to `pos`).
    text: usize,
    sink: &'a S,
}

/// A character reference read: the characters it stands for and where the input goes on.
struct CharRef {
    chars: [char; 2],
    count: usize,
    end: usize,
}

impl CharRef {
    fn push_to(&self, t: &mut StrTendril) {
        for &c in &self.chars[..self.count] {
            t.push_char(c);
        }
    }
}

impl<S: TokenSink> Tokenizer<'_, S> {
    /// A token the tree builder answers only with "go on".
    fn emit_plain(&self, token: Token) -> Step<()> {
        match self.sink.process_token(token, 1) {
            TokenSinkResult::Continue => Ok(()),
            _ => Err(Declined),
        }
    }

    fn slice(&self, from: usize, to: usize) -> StrTendril {
        self.input.subtendril(from as u32, (to - from) as u32)
    }

    /// Emit the text from `self.text` to `to`, if any.
    fn flush(&mut self, to: usize) -> Step<()> {
        if to > self.text {
            self.emit_plain(Token::CharacterTokens(self.slice(self.text, to)))?;
        }
        Ok(())
    }

    /// Go on reading at `p`, after a token: the text not yet emitted starts there.
    fn resume(&mut self, p: usize) {
        self.pos = p;
        self.text = p;
    }

    /// After the tree builder paused html5ever's tokenizer: a U+FEFF next is dropped, as html5ever's
    /// `feed` drops it when its caller feeds the rest.
    fn paused(&mut self) {
        if self.b[self.pos..].starts_with("\u{feff}".as_bytes()) {
            self.resume(self.pos + 3);
        }
    }

    /// The `&` at `at` in text: a character reference emitted, or the `&` left as text.
    fn text_ref(&mut self, at: usize) -> Step<()> {
        let Some(r) = self.char_ref(at, false) else {
            self.pos = at + 1;
            return Ok(());
        };
        self.flush(at)?;
        let mut t = StrTendril::new();
        r.push_to(&mut t);
        self.emit_plain(Token::CharacterTokens(t))?;
        self.resume(r.end);
        Ok(())
    }

    /// The data state, to the end of the input.
    fn data(&mut self) -> Step<()> {
        while let Some(i) = memchr2(b'<', b'&', &self.b[self.pos..]) {
            let at = self.pos + i;
            if self.b[at] == b'&' {
                self.text_ref(at)?;
                continue;
            }
            self.pos = at + 1;
            match self.b.get(at + 1) {
                Some(c) if c.is_ascii_alphabetic() => {
                    self.flush(at)?;
                    self.tag(TagKind::StartTag, at + 1)?;
                }
                Some(b'/') => match self.b.get(at + 2) {
                    Some(c) if c.is_ascii_alphabetic() => {
                        self.flush(at)?;
                        self.tag(TagKind::EndTag, at + 2)?;
                    }
                    Some(b'>') => {
                        self.flush(at)?;
                        self.resume(at + 3);
                    }
                    Some(_) => {
                        self.flush(at)?;
                        self.bogus_comment(at + 2)?;
                    }
                    None => {} // "</" at the end: text
                },
                Some(b'!') => {
                    self.flush(at)?;
                    self.markup_declaration(at + 2)?;
                }
                Some(b'?') => {
                    self.flush(at)?;
                    self.bogus_comment(at + 1)?;
                }
                _ => {} // a "<" that opens nothing: text
            }
        }
        self.flush(self.b.len())
    }

    /// `<!`: a comment, a doctype, or a bogus comment.
    fn markup_declaration(&mut self, from: usize) -> Step<()> {
        let rest = &self.b[from..];
        if rest.starts_with(b"--") {
            return self.comment(from + 2);
        }
        if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"doctype") {
            return self.doctype(from + 7);
        }
        if rest.starts_with(b"[CDATA[") && self.sink.adjusted_current_node_present_but_not_in_html_namespace() {
            return Err(Declined);
        }
        if rest.len() < 7 && (b"--".starts_with(rest) || b"doctype".starts_with(&rest.to_ascii_lowercase()[..]) || b"[CDATA[".starts_with(rest)) {
            return Err(Declined); // cut off by the end of the input
        }
        self.bogus_comment(from)
    }

    /// Text from `from` to the next `>` is a comment.
    fn bogus_comment(&mut self, from: usize) -> Step<()> {
        let Some(i) = memchr(b'>', &self.b[from..]) else { return Err(Declined) };
        self.emit_plain(Token::CommentToken(self.slice(from, from + i)))?;
        self.resume(from + i + 1);
        Ok(())
    }

    /// `<!--` read; the comment runs to the first `-->`.
    fn comment(&mut self, from: usize) -> Step<()> {
        let rest = &self.b[from..];
        if rest.starts_with(b">") || rest.starts_with(b"->") {
            return Err(Declined);
        }
        let Some(i) = memmem::find(rest, b"-->") else { return Err(Declined) };
        if memmem::find(&rest[..i + 2], b"--!").is_some() {
            return Err(Declined);
        }
        self.emit_plain(Token::CommentToken(self.slice(from, from + i)))?;
        self.resume(from + i + 3);
        Ok(())
    }

    /// `<!DOCTYPE` read: `name`, then nothing, `PUBLIC "id"`, `PUBLIC "id" "id"` or
    /// `SYSTEM "id"`, in either quotes, with white space between. Anything else is declined.
    fn doctype(&mut self, from: usize) -> Step<()> {
        let b = self.b;
        let mut p = from;
        let spaces = |p: &mut usize| -> bool {
            let start = *p;
            while *p < b.len() && is_space(b[*p]) {
                *p += 1;
            }
            *p > start
        };
        if !spaces(&mut p) {
            return Err(Declined);
        }
        let start = p;
        while p < b.len() && !is_space(b[p]) && b[p] != b'>' {
            p += 1;
        }
        if p == start || p == b.len() {
            return Err(Declined);
        }
        let name = StrTendril::from_slice(&self.s[start..p].to_ascii_lowercase());
        let quoted = |p: &mut usize| -> Step<StrTendril> {
            let q = *b.get(*p).ok_or(Declined)?;
            if q != b'"' && q != b'\'' {
                return Err(Declined);
            }
            let end = *p + 1 + memchr2(q, b'>', &b[*p + 1..]).ok_or(Declined)?;
            if b[end] != q {
                return Err(Declined);
            }
            let id = StrTendril::from_slice(&self.s[*p + 1..end]);
            *p = end + 1;
            Ok(id)
        };
        let (mut public_id, mut system_id) = (None, None);
        let spaced = spaces(&mut p);
        if b.get(p) != Some(&b'>') {
            let keyword = b.get(p..p + 6).ok_or(Declined)?;
            if !spaced {
                return Err(Declined);
            }
            p += 6;
            if keyword.eq_ignore_ascii_case(b"public") {
                if !spaces(&mut p) {
                    return Err(Declined);
                }
                public_id = Some(quoted(&mut p)?);
                if spaces(&mut p) && b.get(p) != Some(&b'>') {
                    system_id = Some(quoted(&mut p)?);
                    spaces(&mut p);
                }
            } else if keyword.eq_ignore_ascii_case(b"system") {
                if !spaces(&mut p) {
                    return Err(Declined);
                }
                system_id = Some(quoted(&mut p)?);
                spaces(&mut p);
            } else {
                return Err(Declined);
            }
            if b.get(p) != Some(&b'>') {
                return Err(Declined);
            }
        }
        let doctype = Doctype { name: Some(name), public_id, system_id, force_quirks: false };
        self.emit_plain(Token::DoctypeToken(doctype))?;
        self.resume(p + 1);
        Ok(())
    }

    /// A tag whose name starts at `from` (an ASCII letter): its name, attributes and end, then
    /// the state the tree builder asks for.
    fn tag(&mut self, kind: TagKind, from: usize) -> Step<()> {
        let b = self.b;
        let end = from + b[from..].iter().position(|&c| ends_tag_name(c)).ok_or(Declined)?;
        let name = lowered(&self.s[from..end]);
        self.tag_rest(kind, name, end)
    }

    /// A tag's attributes from `p`, the tag emitted and the tokenizer's next state.
    fn tag_rest(&mut self, kind: TagKind, name: LocalName, mut p: usize) -> Step<()> {
        let b = self.b;
        let mut attrs: Vec<Attribute> = Vec::new();
        let mut names: FxHashSet<LocalName> = FxHashSet::default(); // once there are many
        let mut duplicate = false;
        let mut self_closing = false;
        let at = |p: usize| b.get(p).copied().ok_or(Declined);
        loop {
            // Before an attribute name.
            while is_space(at(p)?) {
                p += 1;
            }
            match at(p)? {
                b'>' => break,
                b'/' => {
                    p += 1;
                    if at(p)? == b'>' {
                        self_closing = true;
                        break;
                    }
                    continue; // a stray "/": before an attribute name again
                }
                _ => {}
            }
            // The name: its first character may be "=".
            let start = p;
            p += 1;
            while !ends_tag_name(at(p)?) && at(p)? != b'=' {
                p += 1;
            }
            let attr = lowered(&self.s[start..p]);
            while is_space(at(p)?) {
                p += 1;
            }
            let mut value = StrTendril::new();
            if at(p)? == b'=' {
                p += 1;
                while is_space(at(p)?) {
                    p += 1;
                }
                match at(p)? {
                    b'>' => {}
                    q @ (b'"' | b'\'') => {
                        let close = p + 1 + memchr(q, &b[p + 1..]).ok_or(Declined)?;
                        value = self.attr_value(p + 1, close);
                        p = close + 1; // no space after it is a parse error: a name starts there
                    }
                    _ => {
                        let start = p;
                        while !matches!(at(p)?, b'\t' | b'\n' | b'\x0c' | b' ' | b'>') {
                            p += 1;
                        }
                        value = self.attr_value(start, p);
                    }
                }
            }
            // The first of two attributes of one name wins. A tag of thousands of attributes is
            // checked against a set, not the list (html5ever's own check is quadratic).
            let seen = if attrs.len() < MANY_ATTRIBUTES {
                attrs.iter().any(|a| a.name.local == attr)
            } else {
                if names.is_empty() {
                    names.extend(attrs.iter().map(|a| a.name.local.clone()));
                }
                !names.insert(attr.clone())
            };
            if seen {
                duplicate = true;
            } else {
                attrs.push(Attribute { name: QualName::new(None, ns!(), attr), value });
            }
        }
        self.resume(p + 1);
        let start = kind == TagKind::StartTag;
        let tag = Tag { kind, name: name.clone(), self_closing, attrs, had_duplicate_attributes: duplicate };
        match self.sink.process_token(Token::TagToken(tag), 1) {
            TokenSinkResult::Continue => Ok(()),
            // A `<meta charset>`, or a script's end: html5ever's tokenizer stops (so that a browser
            // could change the encoding or run the script) and its caller feeds it the rest, whose
            // first U+FEFF `feed` drops as a byte-order mark (it does so on every call). Nothing
            // changes or runs here; the same character is dropped.
            TokenSinkResult::EncodingIndicator(_) => {
                self.paused();
                Ok(())
            }
            TokenSinkResult::Script(_) if !start => {
                self.paused();
                Ok(())
            }
            TokenSinkResult::RawData(RawKind::Rcdata) if start => self.raw(&name, Raw::Rcdata),
            TokenSinkResult::RawData(RawKind::Rawtext) if start => self.raw(&name, Raw::Rawtext),
            TokenSinkResult::RawData(RawKind::ScriptData) if start => self.raw(&name, Raw::Script),
            _ => Err(Declined),
        }
    }

    /// An attribute's value from `from` to `to`, its character references read.
    fn attr_value(&self, from: usize, to: usize) -> StrTendril {
        let Some(first) = memchr(b'&', &self.b[from..to]) else { return self.slice(from, to) };
        let mut value = StrTendril::new();
        let (mut done, mut p) = (from, from + first);
        while p < to {
            if self.b[p] == b'&' {
                if let Some(r) = self.char_ref(p, true).filter(|r| r.end <= to) {
                    value.push_slice(&self.s[done..p]);
                    r.push_to(&mut value);
                    done = r.end;
                    p = r.end;
                    continue;
                }
            }
            p += 1;
        }
        value.push_slice(&self.s[done..to]);
        value
    }

    /// RCDATA, RAWTEXT or script data after the start tag `name`, to its end tag or the end of
    /// the input.
    fn raw(&mut self, name: &LocalName, kind: Raw) -> Step<()> {
        let b = self.b;
        let rcdata = kind == Raw::Rcdata;
        loop {
            let found = if rcdata { memchr2(b'<', b'&', &b[self.pos..]) } else { memchr(b'<', &b[self.pos..]) };
            let Some(i) = found else { break };
            let at = self.pos + i;
            if b[at] == b'&' {
                self.text_ref(at)?;
                continue;
            }
            self.pos = at + 1;
            if kind == Raw::Script && b[at + 1..].starts_with(b"!--") {
                // the escaped states: where the script ends is read by their rules
                return self.raw_end(name, escaped_script_end(b, at + 4, name));
            }
            if let Some(end) = end_tag_at(b, at, name) {
                return self.raw_end(name, Some((at, end)));
            }
        }
        self.raw_end(name, None)
    }

    /// The end of raw text: at `name`'s end tag (`Some((<, end of its name))`), or with the input.
    fn raw_end(&mut self, name: &LocalName, end_tag: Option<(usize, usize)>) -> Step<()> {
        match end_tag {
            Some((lt, end)) => {
                self.flush(lt)?;
                self.tag_rest(TagKind::EndTag, name.clone(), end)
            }
            None => {
                self.flush(self.b.len())?;
                self.resume(self.b.len());
                Ok(())
            }
        }
    }

    /// The character reference at `at` (an `&`), as html5ever reads it; `None` when the `&` is
    /// text.
    fn char_ref(&self, at: usize, in_attribute: bool) -> Option<CharRef> {
        let b = self.b;
        let p = at + 1;
        match b.get(p)? {
            b'#' => self.numeric_ref(p + 1),
            c if c.is_ascii_alphanumeric() => {
                // A whole name and its `;` in the table (`&nbsp;`, `&amp;`): no name runs on past a
                // `;`, so it is the longest match, found in one lookup instead of one per prefix.
                let semi = b[p..b.len().min(p + LONGEST_ENTITY)].iter().position(|&c| !c.is_ascii_alphanumeric());
                if let Some(n) = semi.filter(|&n| b[p + n] == b';') {
                    if let Some(&(c1, c2)) = NAMED_ENTITIES.get(&self.s[p..=p + n]).filter(|m| m.0 != 0) {
                        let chars = [char::from_u32(c1)?, char::from_u32(c2).unwrap_or('\0')];
                        return Some(CharRef { chars, count: if c2 == 0 { 1 } else { 2 }, end: p + n + 1 });
                    }
                }
                // The longest entity name the input starts with: the table holds every prefix.
                let mut matched: Option<(usize, (u32, u32))> = None;
                let mut q = p;
                while q < b.len() && b[q].is_ascii() {
                    match NAMED_ENTITIES.get(&self.s[p..=q]) {
                        Some(&m) => {
                            if m.0 != 0 {
                                matched = Some((q + 1, m));
                            }
                            q += 1;
                        }
                        None => break,
                    }
                }
                let (end, (c1, c2)) = matched?;
                if b[end - 1] != b';' && in_attribute {
                    if let Some(&n) = b.get(end) {
                        if n == b'=' || n.is_ascii_alphanumeric() {
                            return None;
                        }
                    }
                }
                let chars = [char::from_u32(c1)?, char::from_u32(c2).unwrap_or('\0')];
                Some(CharRef { chars, count: if c2 == 0 { 1 } else { 2 }, end })
            }
            _ => None,
        }
    }

    /// `&#` read: decimal, or hexadecimal after `x`.
    fn numeric_ref(&self, from: usize) -> Option<CharRef> {
        let b = self.b;
        let (base, mut p) = match b.get(from) {
            Some(b'x' | b'X') => (16, from + 1),
            _ => (10, from),
        };
        let start = p;
        let (mut num, mut too_big) = (0u32, false);
        while let Some(d) = b.get(p).and_then(|&c| (c as char).to_digit(base)) {
            num = num.wrapping_mul(base);
            if num > 0x10FFFF {
                too_big = true;
            }
            num = num.wrapping_add(d);
            p += 1;
        }
        if p == start {
            return None;
        }
        if b.get(p) == Some(&b';') {
            p += 1;
        }
        let c = match num {
            n if n > 0x10FFFF || too_big => '\u{fffd}',
            0x00 | 0xD800..=0xDFFF => '\u{fffd}',
            0x80..=0x9F => C1_REPLACEMENTS[(num - 0x80) as usize].unwrap_or_else(|| char::from_u32(num).expect("C1")),
            n => char::from_u32(n)?,
        };
        Some(CharRef { chars: [c, '\0'], count: 1, end: p })
    }
}

/// The two tokenizers side by side, for the tests and the `tokenize` fuzz target.
#[cfg(any(test, fuzzing))]
pub mod differential {
    use super::*;
    use crate::html::dom::NodeId;
    use crate::html::parse::{builder_options, Sink};
    use html5ever::tokenizer::{BufferQueue, Tokenizer, TokenizerOpts};
    use html5ever::tree_builder::TreeBuilder;
    use html5ever::TokenizerResult;
    use std::cell::RefCell;

    /// Passes tokens on to a tree builder and keeps them, text joined and parse errors left out:
    /// the two things in which the tokenizers may differ without changing the tree.
    struct Recorder<S> {
        inner: S,
        tokens: RefCell<Vec<Token>>,
    }

    impl<S: TokenSink> TokenSink for Recorder<S> {
        type Handle = S::Handle;

        fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<S::Handle> {
            let mut tokens = self.tokens.borrow_mut();
            match (&token, tokens.last_mut()) {
                (Token::ParseError(_), _) => {}
                (Token::CharacterTokens(t), Some(Token::CharacterTokens(last))) => last.push_tendril(t),
                (Token::CharacterTokens(t), _) => tokens.push(Token::CharacterTokens(t.clone())),
                (Token::TagToken(t), _) => tokens.push(Token::TagToken(t.clone())),
                (Token::CommentToken(t), _) => tokens.push(Token::CommentToken(t.clone())),
                (Token::DoctypeToken(d), _) => tokens.push(Token::DoctypeToken(d.clone())),
                (Token::NullCharacterToken, _) => tokens.push(Token::NullCharacterToken),
                (Token::EOFToken, _) => tokens.push(Token::EOFToken),
            }
            drop(tokens);
            self.inner.process_token(token, line)
        }

        fn end(&self) {
            self.inner.end()
        }

        fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
            self.inner.adjusted_current_node_present_but_not_in_html_namespace()
        }
    }

    type Builder = TreeBuilder<NodeId, Sink>;

    fn recorder(html: &str) -> Recorder<Builder> {
        let sink = Sink::new(html.len(), NodeId::MAX_NODES, usize::MAX);
        Recorder { inner: TreeBuilder::new(sink, builder_options()), tokens: RefCell::default() }
    }

    /// html5ever's tokenizer's tokens for `html`.
    pub fn theirs(html: &str) -> Vec<Token> {
        let tokenizer = Tokenizer::new(recorder(html), TokenizerOpts::default());
        let queue = BufferQueue::default();
        queue.push_back(StrTendril::from_slice(html));
        while !matches!(tokenizer.feed(&queue), TokenizerResult::Done) {}
        tokenizer.end();
        tokenizer.sink.tokens.take()
    }

    /// This tokenizer's tokens for `html`, or `Declined`.
    pub fn ours(html: &str) -> Step<Vec<Token>> {
        let input = prepare(html)?;
        let sink = recorder(html);
        run(&input, &sink)?;
        sink.end();
        Ok(sink.tokens.take())
    }

    /// Whether this tokenizer declined `html`; panics when it gave other tokens than html5ever's,
    /// or when the parse it serves builds another tree.
    pub fn agree(html: &str) -> bool {
        let Ok(tokens) = ours(html) else { return true };
        assert_eq!(tokens, theirs(html), "{html:?}");
        false
    }

}

#[cfg(test)]
mod tests {
    use super::differential::{agree, ours};
    use super::*;
    use crate::html::parse::tests::{vector_files, TRICKY};
    use crate::html::parse::{self, Tokens};
    use crate::html::serialize;
    use crate::testrand::XorShift;

    /// The parse with this tokenizer builds the tree html5ever's builds alone.
    fn same_tree(html: &str) {
        let ours = parse::parse_using(html, Tokens::Ours).map(|d| serialize(&d));
        let theirs = parse::parse_using(html, Tokens::Html5ever).map(|d| serialize(&d));
        assert_eq!(ours, theirs, "{html:?}");
    }

    /// The bodies of `benchmarks/gen.py` (Python's standard library only), usual and heavy.
    fn gen_bodies(n: usize) -> Vec<String> {
        crate::judge_corpus::from_gen_py(&format!(
            "import gen, sys\nfor i in range({n}):\n    for s in ('plain', 'heavy'): sys.stdout.write(gen.generate_html(i, style=s) + '\\0')"
        ))
    }

    #[test]
    fn the_corpora_tokenize_as_html5ever_does() {
        let vectors = vector_files();
        let (mut declined, mut read) = (0, 0);
        for html in TRICKY.iter().copied().chain(vectors.iter().map(String::as_str)) {
            if agree(html) {
                declined += 1;
            } else {
                read += 1;
            }
            same_tree(html);
        }
        // Scripts and cut-off markup are what the hostile vectors are about: most are still read.
        assert!(read > 3 * declined, "{read} read, {declined} declined");
        let bodies = gen_bodies(40);
        assert_eq!(bodies.len(), 80);
        for html in &bodies {
            assert!(!agree(html), "declined a gen.py body");
            same_tree(html);
        }
    }

    /// Tokens around which the two tokenizers' states turn, cut and joined at random.
    const PIECES: &[&str] = &[
        "<", ">", "/", "</", "<!", "<!--", "-->", "--", "-", "--!>", "!", "?", "=", "\"", "'", " ", "\n", "\r",
        "\r\n", "\t", "\u{c}", "\u{feff}", "a", "B", "p", "div", "img src=x", "table", "td", "tr", "style",
        "title", "textarea", "xmp", "iframe", "noscript", "noembed", "plaintext", "script", "svg", "math",
        "pre", "select", "template", "foreignObject", "DOCTYPE", "doctype html", "PUBLIC", "SYSTEM",
        "\"-//W3C//DTD XHTML 1.0 Transitional//EN\"", "'x'", "[CDATA[", "]]>", "&", "&amp", "&amp;", "&not",
        "&notin;", "&notit;", "&AMP", "&#", "&#x", "&#X41;", "&#65", "&#128;", "&#0;", "&#xD800;",
        "&#99999999999;", "&nbsp;", "&copy=", "&lt", "é", "\u{1F600}", "x=1", "=x", "/>", "\u{0}", "\u{85}",
        "<script>", "</script>", "<!--<script>", "</SCRIPT ",
    ];

    fn hostile(rng: &mut XorShift) -> String {
        let n = 1 + rng.below(30);
        (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect()
    }

    /// 200,000 generated documents: each is declined or tokenized as html5ever does, and its tree
    /// is the same either way. Many must be read, not declined.
    #[test]
    fn generated_markup_tokenizes_as_html5ever_does() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let (mut declined, mut read) = (0, 0);
        for _ in 0..200_000 {
            let html = hostile(&mut rng);
            if agree(&html) {
                declined += 1;
            } else {
                read += 1;
            }
            same_tree(&html);
        }
        assert!(read > 50_000 && declined > 10_000, "{read} read, {declined} declined");
    }

    /// What it declines, one shape each; and that it reads the usual shapes of the same things.
    #[test]
    fn declines_what_it_was_not_written_for() {
        let declined = [
            "a\0b", "<plaintext>x", "<svg><![CDATA[x]]></svg>", "<!DOCTYPE>",
            "<!DOCTYPE html foo>", "<!DOCTYPEhtml>", "<!DOCTYPE html PUBLIC\"x\">", "<p class=x", "<!-- x",
            "<!-->", "<!--->", "<!-- x --!>", "<!x", "<? x", "</ x",
        ];
        for html in declined {
            assert_eq!(ours(html).err(), Some(Declined), "{html:?}");
            same_tree(html);
        }
        let read = [
            "<p>a", "<svg><style>x</style></svg>", "<![CDATA[x]]>", "<!DOCTYPE html>",
            "<!doctype HTML PUBLIC '-//W3C//DTD HTML 4.01//EN' \"http://www.w3.org/TR/html4/strict.dtd\">",
            "<!DOCTYPE html SYSTEM \"about:legacy-compat\">", "<p class=x>", "<!-- x -->", "<!---->", "<!x>",
            "<?xml version='1.0'?>", "</ x>", "<style>a</style >b", "<title>&amp;</title>", "a\r\nb\rc",
            "<script>x</script>", "<SCRIPT>if (a<b) c()</scriptx></Script\t>d", "<script>a<!-b</script>",
            "<script>x", "<script/>a</script>", "<svg><script>a&lt;b</script></svg>", "<script><!--x</script>",
            "<script>a<!--<script>b</script>c</script>d", "<script><!--<SCRIPT/>--></script>e",
            "<script><!-- a <script x> b --> c</script>f", "<script><!--<scripts></script>g",
            "<script><!--</scrip</script >h", "<script><!-- -- > --></script>i", "<script><!--x--><script></script>j</script>",
            "<script><!--<script>--><script></script>k</script>", "<meta charset=utf-8>\u{feff}l",
            "<script></script>\u{feff}m", "<meta http-equiv=Content-Type content='text/html; charset=utf-8'>\u{feff}n", "<script><!--<script></script",
        ];
        for html in read {
            assert!(ours(html).is_ok(), "{html:?}");
            assert!(!agree(html));
            same_tree(html);
        }
    }

    /// Past `MANY_ATTRIBUTES` the duplicate check is a set's: the first of a name still wins.
    #[test]
    fn many_attributes_keep_the_first_of_each_name() {
        for n in [31, 32, 33, 100, 2_000] {
            let names: Vec<String> = (0..n).map(|i| format!("a{} b{}=\"{i}\" A{}=x", i % 50, i % 7, i / 3)).collect();
            let html = format!("<p {}>x</p><img {} src=y>", names.join(" "), names.join("\n"));
            assert!(!agree(&html), "declined {n}");
            same_tree(&html);
        }
    }

    #[test]
    fn the_budget_binds_as_it_does_for_html5ever() {
        // The sink's budget is spent on the tree, which is the same: the fast path fails where
        // html5ever's fails (parse.rs sweeps budgets over every vector with both).
        let html = "<b>".repeat(2_000) + &"<p>x".repeat(2_000);
        let ours = parse::parse_using(&html, Tokens::Ours).err();
        assert!(ours.is_some());
        assert_eq!(ours, parse::parse_using(&html, Tokens::Html5ever).err());
    }
}
