//! Fuzz the CSS cleaning: no panic, and what it lets through is what it judged: cleaning its
//! output again with a judge that removes every URL finds nothing left to judge or drop. The
//! cleaner's byte scan of a sheet (`scan::pieces`) is the tokenizer walk's reading (`sheet::pieces`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use _core::css::{literals, may_load, scan, sheet, clean_declarations, clean_declarations_with, clean_stylesheet, clean_stylesheet_with, clean_value, tokens, Judged, ValueOutcome};
use _core::{dataurl, stylesheet};

fn remove_all(_: &str, _: &str, _: &str) -> Judged {
    Judged::Remove
}

fn by_hash(url: &str, _: &str, _: &str) -> Judged {
    match url.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32)) % 3 {
        0 => Judged::Keep,
        1 => Judged::Remove,
        _ => Judged::Replace(format!("https://proxy.test/{}", url.len())),
    }
}

fn no_calls(calls: &[(String, String)], what: &str, input: &str, out: &str) {
    assert!(calls.is_empty(), "{what}: a second pass judged {calls:?}\ninput {input:?}\noutput {out:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let src = tokens::normalise(text);
    let pieces = scan::pieces(&src);
    assert_eq!(pieces, sheet::pieces(&src), "the scan and the walk differ on {src:?}");
    // A plain rule's literals looked up: what reading its text outside its url()s answers.
    let lits = literals::Literals::of(&src);
    for piece in &pieces {
        if let sheet::Piece::Rule { span, plain: true, urls } = piece {
            let want = may_load(&literals::outside(&src, span, urls));
            assert_eq!(lits.outside_may_load(&src, span, urls), want, "literals differ on {:?}", &src[span.clone()]);
        }
    }
    let _ = clean_stylesheet(text, by_hash);
    let _ = clean_declarations(text, by_hash);
    let _ = clean_value(text, by_hash, "fill");
    let _ = stylesheet::structure(text);
    let _ = stylesheet::inline_decls(text);
    let _ = dataurl::unsafe_reason(text);

    // Rules passed on as written: the same judge calls as reading every rule, and the same tokens.
    let (mut spliced, mut read) = (Vec::new(), Vec::new());
    let a = clean_stylesheet_with(text, |u: &str, k: &str, w: &str| {
        spliced.push((u.to_string(), k.to_string(), w.to_string()));
        by_hash(u, k, w)
    }, true);
    let b = clean_stylesheet_with(text, |u: &str, k: &str, w: &str| {
        read.push((u.to_string(), k.to_string(), w.to_string()));
        by_hash(u, k, w)
    }, false);
    assert_eq!(spliced, read, "judge calls differ for {text:?}");
    let tokens_of = |s: &str| tokens::tokenize(&tokens::normalise(s), false).ok().map(|n| tokens::to_css(&n));
    assert_eq!(a.is_some(), b.is_some(), "changed differs for {text:?}");
    if let (Some(a), Some(b)) = (&a, &b) {
        assert_eq!(tokens_of(a), tokens_of(b), "tokens differ for {text:?}:\n{a:?}\n{b:?}");
    }

    let sheet = clean_stylesheet(text, remove_all).unwrap_or_else(|| text.to_string());
    let mut calls = Vec::new();
    let _ = clean_stylesheet(&sheet, |u: &str, k: &str, _: &str| {
        calls.push((u.to_string(), k.to_string()));
        Judged::Remove
    });
    no_calls(&calls, "sheet", text, &sheet);

    let decls = clean_declarations(text, remove_all).unwrap_or_else(|| text.to_string());
    let mut calls = Vec::new();
    // (tokenising: the plain fast path also judges a url( inside a longer name, `grourl(x)`, which
    // nothing loads; it then finds nothing to change)
    let _ = clean_declarations_with(&decls, |u: &str, k: &str, _: &str| {
        calls.push((u.to_string(), k.to_string()));
        Judged::Remove
    }, false);
    no_calls(&calls, "declarations", text, &decls);

    if let ValueOutcome::Rewritten(v) = clean_value(text, remove_all, "fill") {
        panic!("a value whose URLs are all removed is removed, not rewritten: {text:?} -> {v:?}");
    }
});
