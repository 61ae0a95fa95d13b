//! Hidden-ness and size of image sites as the template's own `<style>` draws them (the port of
//! `engine._resolve_visibility` and `visibility._rules`): the sheets are read once
//! (`stylesheet::structure`), the rules that can hide, show or size are kept, and
//! `html::visibility::Resolver` matches them. Only when a verdict can depend on it.
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::detect::Detector;
use crate::heuristics::size_signal;
use crate::html::visibility::{style_texts, Resolver, Rule};
use crate::html::{parse_px, Document, Exceeded, Site};
use crate::stylesheet::{sheet_matters, structure};
use crate::urls::{normalise, scheme_of};

static PSEUDO_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i):(?:hover|focus|active|focus-within|focus-visible|visited|link|checked|target)\b").unwrap()
});
static OUTLOOK_DARK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^\s*\[data-ogs[cb]\]\s*").unwrap());
const BASE_MEDIA: [&str; 4] = ["", "all", "screen", "only screen"];

fn hides(name: &str, value: &str) -> bool {
    match name {
        "display" => value == "none",
        "visibility" => value == "hidden" || value == "collapse",
        "opacity" => matches!(value.trim_end_matches('%'), "0" | "0.0" | ".0"),
        "clip" => true,
        "left" | "top" => parse_px(Some(value)).is_some_and(|px| px <= -999.0),
        "width" | "height" | "max-width" | "max-height" => parse_px(Some(value)).is_some_and(|px| px <= 1.0),
        _ => false,
    }
}

/// Could this declaration undo an inline hiding? (display:block, max-height:none, …)
fn shows(name: &str, value: &str) -> bool {
    match name {
        "display" => value != "none",
        "visibility" => value == "visible",
        "max-height" | "max-width" => {
            matches!(value, "none" | "initial" | "unset")
                || parse_px(Some(value)).unwrap_or(0.0) > 1.0
                || value.ends_with('%')
        }
        _ => name.starts_with("overflow") && value == "visible",
    }
}

/// 2: the rule can hide or show an element; 1: it can only size one; 0: neither.
fn relevance(decls: &[(String, String, bool)], conditional: bool) -> u8 {
    if decls.iter().any(|(n, v, imp)| hides(n, v) || ((*imp || conditional) && shows(n, v))) {
        return 2;
    }
    u8::from(decls.iter().any(|(n, _, _)| matches!(n.as_str(), "width" | "height" | "max-width" | "max-height")))
}

/// The rules of a document's sheets that can hide, show or size, each in its context.
pub fn rules_of(sheets: &[String]) -> Vec<Rule> {
    let mut contexts: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::new();
    for text in sheets {
        for (condition, selectors, decls) in structure(text) {
            let condition = if BASE_MEDIA.contains(&condition.as_str()) { String::new() } else { condition };
            for sel in selectors.split(',') {
                let mut sel = sel.trim_matches(crate::css::py_space).to_owned();
                if sel.is_empty() || sel.contains("::") {
                    continue; // a pseudo-element is not the element itself
                }
                let mut cond = condition.clone();
                if PSEUDO_CLASS.is_match(&sel) {
                    sel = PSEUDO_CLASS.replace_all(&sel, "").into_owned();
                    cond = format!("{condition} :interaction").trim_matches(crate::css::py_space).to_owned();
                }
                if OUTLOOK_DARK.is_match(&sel) {
                    sel = OUTLOOK_DARK.replace(&sel, "").into_owned();
                    cond = format!("{condition} dark (outlook.com)").trim_matches(crate::css::py_space).to_owned();
                }
                let rel = if sel.is_empty() { 0 } else { relevance(&decls, !cond.is_empty()) };
                if rel == 0 {
                    continue;
                }
                let context = if BASE_MEDIA.contains(&cond.as_str()) {
                    0
                } else {
                    let next = contexts.len() as u32 + 1;
                    *contexts.entry(cond).or_insert(next)
                };
                let hides_here = context == 0 && decls.iter().any(|(n, v, _)| hides(n, v));
                out.push(Rule { selector: sel, context, decls: decls.clone(), hides_or_shows: rel == 2, hides: hides_here });
            }
        }
    }
    out
}

fn settled(det: &Detector, s: &Site) -> bool {
    let settled = |u: &str| {
        let url = normalise(u);
        !super::clean::is_network(&scheme_of(&url)) || det.settled(&url)
    };
    match &s.srcset {
        Some(c) => c.iter().all(|(u, _)| settled(u)),
        None => settled(s.url.as_deref().unwrap_or("")),
    }
}

/// Resolve hidden-ness and size of the document's image sites whose verdict the drawing can change.
/// Fails when matching the sheets' selectors would cost more than `matching_budget`.
pub fn resolve(doc: &Document, sites: &mut [Site], det: &Detector) -> Result<(), Exceeded> {
    let images: Vec<usize> = (0..sites.len())
        .filter(|&i| {
            let s = &sites[i];
            s.load && s.kind == "image" && s.always.is_none() && s.css.is_none() && s.attr.is_some() && !settled(det, s)
        })
        .collect();
    if images.is_empty() {
        return Ok(());
    }
    let some = images.iter().any(|&i| sites[i].hidden || size_signal(sites[i].width, sites[i].height).is_some());
    let sheets: Vec<String> = style_texts(doc).into_iter().filter(|t| !t.is_empty() && sheet_matters(t)).collect();
    if sheets.is_empty() {
        return Ok(());
    }
    let Some(mut resolver) = Resolver::for_rules(doc, rules_of(&sheets), some) else { return Ok(()) };
    for i in images {
        let s = &mut sites[i];
        if !resolver.touches(s.node, s.hidden) {
            continue;
        }
        let tag = doc.element(s.node).map(|e| e.name.local.to_string()).unwrap_or_default();
        if matches!(tag.as_str(), "img" | "image" | "input") {
            let (hidden, w, h) =
                resolver.resolve(s.node, parse_px(doc.attr(s.node, "width")), parse_px(doc.attr(s.node, "height")));
            if size_signal(w, h) != size_signal(s.width, s.height) {
                // else the written size stands (placeholders are drawn with it)
                s.width = w;
                s.height = h;
            }
            let hidden_input = tag == "input" && doc.attr(s.node, "type").is_some_and(|t| t.to_lowercase() == "hidden");
            s.hidden = hidden || hidden_input;
        } else {
            s.hidden = resolver.resolve(s.node, None, None).0;
        }
    }
    if resolver.exhausted() {
        return Err(Exceeded::Selectors); // the answers since it ran out are void
    }
    Ok(())
}
