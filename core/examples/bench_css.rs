//! Per-stage cost of the head `<style>` sheets without Python in the way: the cleaner's
//! `clean_stylesheet` (every URL kept), its cut into pieces (the byte scan `css::scan::pieces`,
//! and the tokenizer walk `css::sheet::pieces` it stands for, alternating on each document) and
//! the visibility reader's `structure`; and, for scale, one pass of cssparser's tokenizer over the
//! same text (the floor of any reading that tokenises).
//!
//!     python benchmarks/gen.py html /tmp/heavy -n 40 --style heavy
//!     cargo run --release --example bench_css -- /tmp/heavy [rounds]
use std::time::Instant;

use _core::css::{scan, sheet};
use _core::{css, stylesheet};

#[path = "common/mod.rs"]
mod common;

/// The text of every `<style>` element (a literal scan: the generated bodies are well formed).
fn sheets(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find("<style") {
        let Some(gt) = rest[open..].find('>') else { break };
        let body = &rest[open + gt + 1..];
        let Some(end) = body.find("</style>") else { break };
        out.push(body[..end].to_string());
        rest = &body[end..];
    }
    out
}

fn main() {
    let (dir, rounds) = common::args();
    let docs: Vec<Vec<String>> = common::bodies(&dir).iter().map(|d| sheets(d)).collect();
    // Where the Python reader's scan declines (strings), structure() must answer as the tokeniser.
    let mut light = 0;
    for s in docs.iter().flatten() {
        if stylesheet::light_structure(s).is_none() {
            let l = stylesheet::structure(s);
            light += 1;
            let full: Vec<_> = stylesheet::full_structure(s).into_iter().map(|(c, sel, d)| (c, sel.trim().to_string(), d)).collect();
            let l: Vec<_> = l.into_iter().map(|(c, sel, d)| (c, sel.trim().to_string(), d)).collect();
            assert_eq!(l, full, "light and full readings differ on {s}");
        }
    }
    println!("{light} sheets with strings or escapes: structure() reads each as the tokeniser does");
    for s in docs.iter().flatten() {
        assert_eq!(scan::pieces(s), sheet::pieces(s), "the scan and the walk differ on {s}");
    }
    let (mut clean, mut read, mut tokens) = (Vec::new(), Vec::new(), Vec::new());
    let (mut scanned, mut walked) = (Vec::new(), Vec::new());
    let mut n = 0;
    for _ in 0..rounds {
        for d in &docs {
            let t0 = Instant::now();
            for s in d {
                n += css::clean_stylesheet(s, |_, _, _| css::Judged::Keep).map_or(0, |o| o.len());
            }
            let t1 = Instant::now();
            for s in d {
                n += stylesheet::structure(s).len();
            }
            let t2 = Instant::now();
            for s in d {
                let mut input = cssparser::ParserInput::new(s);
                let mut p = cssparser::Parser::new(&mut input);
                while p.next_including_whitespace_and_comments().is_ok() {
                    n += 1;
                }
            }
            let t3 = Instant::now();
            for s in d {
                n += scan::pieces(s).len();
            }
            let t4 = Instant::now();
            for s in d {
                n += sheet::pieces(s).len();
            }
            let t5 = Instant::now();
            scanned.push((t4 - t3).as_secs_f64());
            walked.push((t5 - t4).as_secs_f64());
            clean.push((t1 - t0).as_secs_f64());
            read.push((t2 - t1).as_secs_f64());
            tokens.push((t3 - t2).as_secs_f64());
        }
    }
    let med = |v: &mut Vec<f64>| common::median_ms(v);
    println!("{} docs x {rounds}: clean_stylesheet {:.3} ms, structure {:.3} ms, tokens only {:.3} ms (median per doc) [{n}]",
             docs.len(), med(&mut clean), med(&mut read), med(&mut tokens));
    println!("pieces: byte scan {:.3} ms, tokenizer walk {:.3} ms (median per doc)", med(&mut scanned), med(&mut walked));
}
