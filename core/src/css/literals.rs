//! Where a sheet's `may_load` literals fall, found in one pass over the whole sheet, so that each
//! plain rule's text outside its `url()`s is asked by looking the literals up, not by writing that
//! text out and reading it again (`may_load(&outside(…))`: a 40 KB template sheet was read twice,
//! the second time rule by rule, at a fifth of the speed, case-insensitively byte by byte).
//!
//! The text outside a rule's `url()`s is its segments between them, each `url()` read as one space.
//! No literal holds a space, so a literal is in that text exactly when it is in one segment of the
//! sheet. Only `image (` and `@ import` read across the spaces, and they are followed there.

use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};

use super::sheet::PlainUrl;
use super::py_space;

/// `MAYBE_LITERALS` of three bytes or more, and `image`: searched in the lowercased sheet, where the
/// searcher may use its SIMD prefilter (a case-insensitive one may not). `\` and `//` are found with memchr.
const WORDS: [&str; 7] = ["url", "src", "cross-fade", "ession", "behavior", "binding", "image"];
const IMAGE: usize = 6;

static SEARCH: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder().match_kind(MatchKind::LeftmostFirst).build(WORDS).expect("fixed literals")
});

/// Every place a `may_load` literal or `image` starts in one sheet, in order.
pub struct Literals {
    /// The `MAYBE_LITERALS` found: where each is, in any ASCII case.
    hits: Vec<Range<usize>>,
    /// Where each `image` starts.
    images: Vec<usize>,
}

impl Literals {
    /// Read `src` once. No literal here is a prefix of another, so the searcher's match at the
    /// first start from `pos` on is the only one starting there; searching again from the next
    /// byte finds every occurrence, overlapping ones too.
    pub fn of(src: &str) -> Literals {
        let lower = src.as_bytes().to_ascii_lowercase();
        let (mut hits, mut images) = (Vec::new(), Vec::new());
        let mut pos = 0;
        while let Some(m) = SEARCH.find(Input::new(&lower).span(pos..lower.len())) {
            if m.pattern().as_usize() == IMAGE {
                images.push(m.start());
            } else {
                hits.push(m.range());
            }
            pos = m.start() + 1;
        }
        hits.extend(memchr::memchr_iter(b'\\', &lower).map(|i| i..i + 1));
        hits.extend(memchr::memchr_iter(b'/', &lower).filter(|&i| lower.get(i + 1) == Some(&b'/')).map(|i| i..i + 2));
        hits.sort_unstable_by_key(|r| r.start);
        Literals { hits, images }
    }

    /// `may_load(&outside(src, span, urls))`: could the rule `span` of `src` (the sheet these
    /// literals were found in) load anything other than its `urls` (in order, inside `span`)?
    pub fn outside_may_load(&self, src: &str, span: &Range<usize>, urls: &[PlainUrl]) -> bool {
        let text = Outside { src, span, urls };
        let from = |starts: &[usize]| starts.partition_point(|&s| s < span.start);
        let first = self.hits.partition_point(|r| r.start < span.start);
        if self.hits[first..].iter().take_while(|r| r.start < span.end).any(|r| text.holds(r)) {
            return true;
        }
        let images = &self.images[from(&self.images)..];
        if images.iter().take_while(|&&s| s < span.end).any(|&s| text.holds(&(s..s + 5)) && text.image_call(s + 5)) {
            return true;
        }
        let b = src.as_bytes();
        memchr::memchr_iter(b'@', &b[span.clone()]).map(|i| span.start + i).any(|i| {
            if !text.holds(&(i..i + 1)) {
                return false;
            }
            let j = text.skip_space(i + 1);
            j + 6 <= span.end && b[j..j + 6].eq_ignore_ascii_case(b"import")
        })
    }
}

/// A rule's text with its `url()`s blanked: what else in it could load. [`Literals::outside_may_load`]
/// answers `may_load` of it without writing it; this is the text it is held to (tests, fuzzing).
pub fn outside(src: &str, span: &Range<usize>, urls: &[PlainUrl]) -> String {
    let mut out = String::with_capacity(span.len());
    let mut at = span.start;
    for u in urls {
        out.push_str(&src[at..u.span.start]);
        out.push(' ');
        at = u.span.end;
    }
    out.push_str(&src[at..span.end]);
    out
}

/// A rule's text with its `url()`s read as one space each, read in place.
struct Outside<'a> {
    src: &'a str,
    span: &'a Range<usize>,
    urls: &'a [PlainUrl],
}

impl Outside<'_> {
    /// Is `r` inside the rule and outside every `url()`?
    fn holds(&self, r: &Range<usize>) -> bool {
        r.start >= self.span.start
            && r.end <= self.span.end
            && !self.urls.iter().any(|u| u.span.start < r.end && r.start < u.span.end)
    }

    /// The first position from `at` (outside the `url()`s) that is not whitespace, a `url()`
    /// counting as a space; the rule's end if there is none.
    fn skip_space(&self, mut at: usize) -> usize {
        while at < self.span.end {
            if let Some(u) = self.urls.iter().find(|u| u.span.start == at) {
                at = u.span.end;
                continue;
            }
            match self.src[at..self.span.end].chars().next() {
                Some(c) if py_space(c) => at += c.len_utf8(),
                _ => break,
            }
        }
        at
    }

    /// After an `image` ending at `at`: `(` or `-set` then `(`, whitespace allowed before the `(`
    /// (`maybe_image`). The bytes of `-set` are never a `url()`'s first byte (a `u`).
    fn image_call(&self, at: usize) -> bool {
        let b = self.src.as_bytes();
        let end = self.span.end;
        let open = |i: usize| i < end && b[i] == b'(';
        if at + 4 <= end && b[at] == b'-' && b[at + 1..at + 4].eq_ignore_ascii_case(b"set") && open(self.skip_space(at + 4)) {
            return true;
        }
        open(self.skip_space(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::css::tokens::normalise;
    use crate::css::{may_load, scan, sheet::Piece, MAYBE_LITERALS};

    /// The literals looked up answer as the text written out and read again, for every plain rule:
    /// how many rules were asked, and how many of them may load.
    fn agree(text: &str) -> (usize, usize) {
        let src = normalise(text);
        let lits = Literals::of(&src);
        let (mut asked, mut loads) = (0, 0);
        for piece in scan::pieces(&src) {
            if let Piece::Rule { span, plain: true, urls } = piece {
                let want = may_load(&outside(&src, &span, &urls));
                assert_eq!(lits.outside_may_load(&src, &span, &urls), want, "{:?} in {src:?}", &src[span.clone()]);
                asked += 1;
                loads += usize::from(want);
            }
        }
        (asked, loads)
    }

    #[test]
    fn the_words_are_the_literals() {
        let mut words: Vec<&str> = WORDS.iter().copied().filter(|w| *w != "image").chain(["\\", "//"]).collect();
        let mut maybe = MAYBE_LITERALS.to_vec();
        words.sort_unstable();
        maybe.sort_unstable();
        assert_eq!(words, maybe);
        assert_eq!(WORDS[IMAGE], "image");
        for (i, a) in WORDS.iter().enumerate() {
            for (j, b) in WORDS.iter().enumerate() {
                assert!(i == j || !b.starts_with(a), "{a} is a prefix of {b}: one start would hide the other");
            }
        }
    }

    #[test]
    fn literals_across_url_spaces() {
        for (sheet, want) in [
            ("a{b:c}", false),
            ("a{b:url(x)}", false),
            ("a{b:image url(x) (c)}", true), // `image  (`: the url() reads as a space
            ("a{b:image-set url(x)(c)}", true),
            ("a{b:image-sets(c)}", false),
            ("a{background-image:url(x)}", false),
            ("a{b:IMAGE\u{2003}(c)}", true),
            ("a{b:x url(x)rl}", false),
            (".curl{d:e}", true),
            ("a{b:c//d}", true),
            ("a{b:url(x)ession}", true),
            ("a{b:srcross-fade}", true),
            ("a{b:imagession}", true),
        ] {
            let src = normalise(sheet);
            let lits = Literals::of(&src);
            let got: Vec<bool> = scan::pieces(&src).into_iter().filter_map(|p| match p {
                Piece::Rule { span, plain: true, urls } => Some(lits.outside_may_load(&src, &span, &urls)),
                _ => None,
            }).collect();
            assert_eq!(got, [want], "{sheet:?}");
            assert_eq!(agree(sheet), (1, usize::from(want)));
        }
    }

    /// Generated hostile sheets (a fixed xorshift: the same every run) made of the pieces the lookup
    /// turns on: literals in both cases, url()s next to them, whitespace of both kinds, `@`s.
    #[test]
    fn generated_sheets() {
        const PIECES: [&str; 30] = [
            "a{", "b:", "}", ";", " ", "\u{2003}", "url(x)", "URL( 'y' )", "url(", "image", "ImAgE", "-set", "-SET",
            "(", ")", "@", "@import", "import", "IMPORT", "src", "cross-fade", "ession", "BeHaViOr", "binding",
            "/", "\\", "e", "@media x{", "\n", ",",
        ];
        let mut rng = crate::testrand::XorShift(0x2545_f491_4f6c_dd1d);
        let (mut asked, mut loads, mut sheets) = (0, 0, 0);
        for _ in 0..100_000 {
            let mut sheet = String::from("a{b:");
            let x = rng.step();
            let mut y = crate::testrand::XorShift(x);
            for _ in 0..(x % 20) {
                sheet.push_str(PIECES[(y.step() % PIECES.len() as u64) as usize]);
            }
            sheet.push_str("} c{d:e}");
            let (a, l) = agree(&sheet);
            (asked, loads, sheets) = (asked + a, loads + l, sheets + 1);
        }
        assert!(asked > sheets / 2, "plain rules were asked: {asked} in {sheets} sheets");
        assert!(loads > asked / 10 && loads < asked * 9 / 10, "both answers were tried: {loads} of {asked}");
    }

    /// The heavy template sheets of `benchmarks/gen.py` (Python's standard library only).
    #[test]
    fn the_heavy_templates() {
        let (mut asked, mut loads) = (0, 0);
        for sheet in &scan::tests::heavy_template_sheets() {
            let (a, l) = agree(sheet);
            (asked, loads) = (asked + a, loads + l);
        }
        assert!(asked > 1000 && loads > 0, "{asked} template rules asked, {loads} may load");
    }

    /// The recorded sheets of the walk's tests, and the vectors, each file whole as hostile input.
    #[test]
    fn vector_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
        let mut asked = 0;
        for entry in std::fs::read_dir(root).expect("test vectors").flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                asked += agree(&text).0;
            }
        }
        for sheet in crate::css::sheet::tests::SHEETS {
            asked += agree(sheet).0;
        }
        assert!(asked > 0);
    }
}
