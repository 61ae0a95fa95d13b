//! Reading an inline `style` the way `tracker_block/engine/heuristics.py` does (parse_px, style_size,
//! style_hides) and `html._style_flags`: same rules, same edge cases, so sites match exactly.
use std::sync::LazyLock;

use regex::Regex;

pub use crate::pycompat::{is_space as py_space, strip as py_strip};

/// An HTML/CSS length in px (`12`, `12px`, ` -3.5 PX `), None when relative or unreadable.
pub fn parse_px(value: Option<&str>) -> Option<f64> {
    let v = py_strip(value?);
    let num = match v.len().checked_sub(2).and_then(|cut| v.get(cut..).map(|tail| (cut, tail))) {
        Some((cut, tail)) if tail.eq_ignore_ascii_case("px") => v[..cut].trim_end_matches(py_space),
        _ => v,
    };
    let b = num.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start {
        return None;
    }
    if i < b.len() && b[i] == b'.' {
        let frac = i + 1;
        i = frac;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    num.parse().ok()
}

/// Where `(?i)(?:^|;|\s)(max-width|max-height|width|height)\s*:\s*([^;!]+)` matches in a style,
/// as the regex's `captures_iter` finds them: (is a width, the value). Read by hand: the regex
/// ran on every image's style (tests hold the two equal).
fn style_dims(style: &str) -> Vec<(bool, &str)> {
    const NAMES: [(&str, bool); 4] = [("max-width", true), ("max-height", false), ("width", true), ("height", false)];
    let b = style.as_bytes();
    let mut out = Vec::new();
    let mut s = 0; // where the next match may start
    while s < b.len() {
        // the name's position for a match starting at `s`: `^`, or after a `;` or whitespace
        let c = style[s..].chars().next().unwrap_or(' ');
        let starts = [(s == 0).then_some(s), (c == ';' || c.is_whitespace()).then(|| s + c.len_utf8())];
        let found = starts.into_iter().flatten().find_map(|k| {
            let (name, width) = NAMES.iter().find(|(n, _)| b.get(k..k + n.len()).is_some_and(|w| w.eq_ignore_ascii_case(n.as_bytes())))?;
            let after = skip_ws(style, k + name.len());
            if b.get(after) != Some(&b':') {
                return None;
            }
            let v0 = after + 1;
            let v1 = skip_ws(style, v0);
            let end = v1 + b[v1..].iter().position(|&c| c == b';' || c == b'!').unwrap_or(b.len() - v1);
            if end > v1 {
                Some((*width, v1, end))
            } else if v1 > v0 {
                // only whitespace before `;`, `!` or the end: the value is its last character
                let last = style[..v1].chars().next_back().map_or(1, char::len_utf8);
                Some((*width, v1 - last, v1))
            } else {
                None
            }
        });
        match found {
            Some((width, from, end)) => {
                out.push((width, &style[from..end]));
                s = end;
            }
            None => s += c.len_utf8(),
        }
    }
    out
}

/// Past the (Unicode) whitespace at `from`.
fn skip_ws(s: &str, from: usize) -> usize {
    from + (s.len() - from - s[from..].trim_start_matches(char::is_whitespace).len())
}

/// Smallest width/height an inline style allows (width vs max-width, height vs max-height).
pub fn style_size(style: Option<&str>) -> (Option<f64>, Option<f64>) {
    let (mut w, mut h): (Option<f64>, Option<f64>) = (None, None);
    let Some(style) = style.filter(|s| !s.is_empty()) else {
        return (w, h);
    };
    for (is_width, value) in style_dims(style) {
        let Some(px) = parse_px(Some(value)) else { continue };
        if is_width {
            w = Some(w.map_or(px, |x| x.min(px)));
        } else {
            h = Some(h.map_or(px, |x| x.min(px)));
        }
    }
    (w, h)
}

/// `str.lower()`; ASCII text (nearly every style) takes the cheap path.
pub fn lower(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

/// Python's `float()` on a short CSS value: surrounding whitespace allowed, and `_` between two
/// digits (`0_0` is 0.0 to Python).
fn py_float(s: &str) -> Option<f64> {
    let s = py_strip(s);
    if !s.contains('_') {
        return s.parse().ok();
    }
    let b = s.as_bytes();
    let ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'_' || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    });
    if ok {
        s.replace('_', "").parse().ok()
    } else {
        None
    }
}

/// Does an inline style make the element (and what is inside it) invisible?
pub fn style_hides(style: &str) -> bool {
    hides_lowered(&lower(style))
}

/// [`style_hides`] of a style already lowercased (as Python's `str.lower()`).
fn hides_lowered(low: &str) -> bool {
    if !((low.contains("none") && low.contains("display"))
        || low.contains("hid")
        || low.contains("collapse")
        || low.contains("opacity")
        || low.contains("clip")
        || low.contains(":-")
        || low.contains(": -"))
    {
        return false;
    }
    let (mut zero_box, mut overflow_hidden) = (false, false);
    for decl in low.split(';') {
        let Some((prop, val)) = decl.split_once(':') else { continue };
        let prop = py_strip(prop);
        if !matches!(
            prop,
            "display" | "visibility" | "opacity" | "clip" | "left" | "top" | "height" | "max-height" | "width"
                | "max-width" | "overflow" | "overflow-y" | "overflow-x"
        ) {
            continue;
        }
        let val = val.replace("!important", "");
        let val = py_strip(&val);
        match prop {
            "display" => {
                if val == "none" {
                    return true;
                }
            }
            "visibility" => {
                if val == "hidden" || val == "collapse" {
                    return true;
                }
            }
            "opacity" => {
                if py_float(val.trim_end_matches('%')) == Some(0.0) {
                    return true;
                }
            }
            "clip" => {
                let v = val.replace(' ', "");
                if ["rect(0,0,0,0", "rect(0px,0px,0px,0px", "rect(00", "rect(0000"].iter().any(|p| v.starts_with(p)) {
                    return true;
                }
            }
            "left" | "top" => {
                if parse_px(Some(val)).is_some_and(|px| px <= -999.0) {
                    return true;
                }
            }
            p if p.starts_with("overflow") => overflow_hidden = overflow_hidden || val == "hidden" || val == "clip",
            _ => zero_box = zero_box || parse_px(Some(val)) == Some(0.0),
        }
    }
    zero_box && overflow_hidden
}

pub const HIDES: u8 = 1;
pub const MAY_LOAD: u8 = 2;

static CSS_IN_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)url\s*\(|image-set|\\").expect("valid regex"));

pub fn css_in_attr(value: &str) -> bool {
    CSS_IN_ATTR.is_match(value)
}

/// The words `style_flags` asks about, in the lowercased style; bit i for word i.
const FLAG_WORDS: [&str; 15] = [
    "none", "display", "hid", "collapse", "opacity", "clip", ":-", ": -", // could hide
    "(", "\\", "//", "src", "ession", "behavior", "binding", // could load or run script
];
/// Their searchers, built once (measured on 10,930 template styles: prebuilt `memmem` finders take
/// 3/4 of the time of `str::contains`; one Aho-Corasick pass, any kind, no less than `contains`).
static FLAG_FINDERS: LazyLock<Vec<memchr::memmem::Finder<'static>>> =
    LazyLock::new(|| FLAG_WORDS.iter().map(|w| memchr::memmem::Finder::new(w.as_bytes())).collect());

/// What an inline style means here: hides its element (`HIDES`), may load a URL (`MAY_LOAD`).
pub fn style_flags(style: &str) -> u8 {
    let low = lower(style); // `str.lower()`: some non-ASCII letters lowercase to ASCII (K, the Kelvin sign)
    let has = |i: usize| FLAG_FINDERS[i].find(low.as_bytes()).is_some();
    // hides_lowered's own first test: most styles stop here
    let could_hide = (2..8).any(has) || (has(0) && has(1));
    let mut flags = if could_hide && hides_lowered(&low) { HIDES } else { 0 };
    let may_load = ((has(8) || has(9) || has(10)) && (has(10) || css_in_attr(style) || has(11))) || (12..15).any(has);
    if may_load {
        flags |= MAY_LOAD;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn px() {
        assert_eq!(parse_px(Some(" 12px ")), Some(12.0));
        assert_eq!(parse_px(Some("-1.5PX")), Some(-1.5));
        assert_eq!(parse_px(Some("1.")), None);
        assert_eq!(parse_px(Some("50%")), None);
        assert_eq!(parse_px(Some("px")), None);
        assert_eq!(parse_px(Some("€")), None);
        assert_eq!(parse_px(Some("1€")), None);
    }

    #[test]
    fn hides_and_size() {
        assert!(style_hides("display: none !important"));
        assert!(style_hides("height:0;overflow:hidden"));
        assert!(!style_hides("border:none"));
        assert!(style_hides("opacity: 0%"));
        assert!(style_hides("opacity:0_0"));
        assert!(!style_hides("opacity:_0;display:block"));
        assert_eq!(style_size(Some("width:10px;max-width:3px;height:auto")), (Some(3.0), None));
        assert_eq!(style_flags("background:url(x)"), MAY_LOAD);
        assert_eq!(style_flags("display:none;behavior:url(x.htc)"), HIDES | MAY_LOAD);
        assert_eq!(style_flags("DISPLAY:NONE"), HIDES);
        assert_eq!(style_flags("color:red;line-height:0"), 0);
    }

    /// The style readers as they were: `lower()` and a `contains` per word; the regex for sizes.
    fn flags_as_before(style: &str) -> u8 {
        let low = lower(style);
        let mut flags = if hides_lowered(&low) { HIDES } else { 0 };
        let may_load = ((style.contains('(') || style.contains('\\') || style.contains("//"))
            && (style.contains("//") || css_in_attr(style) || low.contains("src")))
            || low.contains("ession")
            || low.contains("behavior")
            || low.contains("binding");
        if may_load {
            flags |= MAY_LOAD;
        }
        flags
    }

    fn dims_as_before(style: &str) -> Vec<(bool, String)> {
        static DIM: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"(?i)(?:^|;|\s)(max-width|max-height|width|height)\s*:\s*([^;!]+)").unwrap());
        DIM.captures_iter(style).map(|c| (c[1].to_lowercase().ends_with("width"), c[2].to_owned())).collect()
    }

    #[test]
    fn one_pass_readers_equal_the_old_ones() {
        // 300,000 styles from the pieces the readers turn on (a fixed xorshift: the same every run)
        const PIECES: [&str; 49] = [
            "left: -9999px", "top:-2000px", "width:0", "overflow:hidden", "height: 0",
            "left", "TOP", "-9999", "overflow",
            "width", "WIDTH", "max-width", "Max-Height", "height", "line-height", "min-width", ":", " ", ";", "!",
            "important", "px", "1", "0", "0.5", "-", "\u{a0}", "\u{2003}", "\t", "\n", "é", "\u{212a}", "display", "NONE",
            "visibility", "hidden", "collapse", "opacity", "clip", "rect(0,0,0,0)", ": -", ":-", "url(", "\\", "//",
            "src", "expression(", "behavior", "-moz-binding",
        ];
        let mut rng = crate::testrand::XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: usize| rng.below(n);
        let mut sized = 0;
        for _ in 0..300_000 {
            let style: String = (0..next(12)).map(|_| PIECES[next(PIECES.len())]).collect();
            assert_eq!(style_flags(&style), flags_as_before(&style), "{style:?}");
            let dims: Vec<(bool, String)> = style_dims(&style).into_iter().map(|(w, v)| (w, v.to_owned())).collect();
            assert_eq!(dims, dims_as_before(&style), "{style:?}");
            sized += usize::from(!dims.is_empty());
        }
        assert!(sized > 3_000, "{sized} styles with a size");
    }
}
