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

static STYLE_DIM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|;|\s)(max-width|max-height|width|height)\s*:\s*([^;!]+)").expect("valid regex")
});

/// Smallest width/height an inline style allows (width vs max-width, height vs max-height).
pub fn style_size(style: Option<&str>) -> (Option<f64>, Option<f64>) {
    let (mut w, mut h): (Option<f64>, Option<f64>) = (None, None);
    let Some(style) = style.filter(|s| !s.is_empty()) else {
        return (w, h);
    };
    for c in STYLE_DIM.captures_iter(style) {
        let Some(px) = parse_px(Some(&c[2])) else { continue };
        if c[1].to_lowercase().ends_with("width") {
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

/// What an inline style means here: hides its element (`HIDES`), may load a URL (`MAY_LOAD`).
pub fn style_flags(style: &str) -> u8 {
    let low = lower(style); // once: both questions read the lowercased text
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
    }
}
