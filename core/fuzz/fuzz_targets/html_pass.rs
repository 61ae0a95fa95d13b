//! The HTML pass on hostile bytes: parse, collect, serialise, rewrite every site, serialise again.
//! Oracles: no panic; and for a document that is not mutation-prone, the output is a fixed point
//! whose re-parse holds exactly the sites we found (what we judged is what a re-parse reads).
//!
//!     cd core/fuzz && cargo +nightly fuzz run html_pass -- -max_total_time=60
#![no_main]
use _core::html::{self, Op, Site};
use libfuzzer_sys::fuzz_target;

fn plain(sites: &[Site]) -> Vec<Site> {
    sites.iter().map(|s| Site { node: html::dom::DOCUMENT, ..s.clone() }).collect()
}

fn op_for(i: usize, s: &Site) -> Op {
    match (s.always.as_deref(), s.css_mode, i % 4) {
        (Some("policy:unwrap-noscript"), _, _) => Op::Unwrap,
        (Some("policy:xmp-as-pre"), _, _) => Op::XmpToPre,
        (Some(_), _, _) => Op::Remove,
        (None, "comment", _) => Op::SetComment(s.css.clone().unwrap_or_default().replace("//", "/")),
        (None, "sheet" | "block" | "value", n) => Op::SetCss(if n == 0 { String::new() } else { "x:1".into() }),
        (None, _, 0) => Op::RemoveElement,
        (None, _, 1) => Op::Placeholder(s.url.clone().unwrap_or_default()),
        (None, _, 2) => Op::SetAttr("https://p.example/x".into()),
        _ => Op::Remove,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Past the parse's budget or depth limit there is no document (the engine shows it as text).
    let Ok(mut doc) = html::parse(&text) else { return };
    let (sites, prone) = html::collect(&doc);
    let out = html::serialize(&doc);
    if !prone {
        let again = html::parse(&out).expect("the output parses within the limits the input did");
        assert_eq!(html::serialize(&again), out, "the output is not a fixed point");
        assert_eq!(plain(&html::collect(&again).0), plain(&sites), "a re-parse reads other sites");
    }
    let ops: Vec<(&Site, Op)> = sites.iter().enumerate().map(|(i, s)| (s, op_for(i, s))).collect();
    if html::apply_all(&mut doc, &ops).is_ok() {
        if let Ok(again) = html::parse(&html::serialize(&doc)) {
            let _ = html::collect(&again);
        }
    }
});
