//! Cost of the visibility resolver on each body's image sites without Python or a judge in the way:
//! the sheets' rules read (`rules_of`) and every image site resolved, as if no verdict were settled.
//!
//!     python benchmarks/gen.py html /tmp/heavy -n 40 --style heavy
//!     cargo run --release --example bench_visibility -- /tmp/heavy [rounds]
use std::time::Instant;

use _core::engine::visibility::rules_of;
use _core::html::{self, parse_px, visibility::{style_texts, Resolver}};
use _core::stylesheet::sheet_matters;

#[path = "common/mod.rs"]
mod common;

fn main() {
    let (dir, rounds) = common::args();
    let docs = common::bodies(&dir);
    let parsed: Vec<_> = docs.iter().map(|d| html::parse(d)).collect();
    let (mut read, mut resolve) = (Vec::new(), Vec::new());
    let mut hidden = 0;
    for _ in 0..rounds {
        for doc in &parsed {
            let (sites, _) = html::collect(doc);
            let t0 = Instant::now();
            let sheets: Vec<String> = style_texts(doc).into_iter().filter(|t| !t.is_empty() && sheet_matters(t)).collect();
            let rules = rules_of(&sheets);
            let t1 = Instant::now();
            if let Some(mut r) = Resolver::for_rules(doc, rules, true) {
                for s in sites.iter().filter(|s| s.kind == "image" && s.attr.is_some()) {
                    if r.touches(s.node, s.hidden) {
                        hidden += usize::from(r.resolve(s.node, parse_px(doc.attr(s.node, "width")), parse_px(doc.attr(s.node, "height"))).0);
                    }
                }
            }
            let t2 = Instant::now();
            read.push((t1 - t0).as_secs_f64());
            resolve.push((t2 - t1).as_secs_f64());
        }
    }
    let med = |v: &mut Vec<f64>| common::median_ms(v);
    println!("{} docs x {rounds}: rules_of {:.3} ms, resolve {:.3} ms (median per doc; {hidden} hidden)", docs.len(), med(&mut read), med(&mut resolve));
}
