//! Per-stage cost of the HTML pass without Python in the way: parse, collect, serialise.
//!
//!     python benchmarks/gen.py html /tmp/bodies -n 40
//!     cargo run --release --example bench_html -- /tmp/bodies [rounds]
use std::time::Instant;

use _core::html;

#[path = "common/mod.rs"]
mod common;

fn main() {
    let (dir, rounds) = common::args();
    let docs = common::bodies(&dir);
    let (mut parse, mut collect, mut ser) = (Vec::new(), Vec::new(), Vec::new());
    let mut sites = 0;
    for _ in 0..rounds {
        for d in &docs {
            let t0 = Instant::now();
            let doc = html::parse(d);
            let t1 = Instant::now();
            let (s, _) = html::collect(&doc);
            let t2 = Instant::now();
            let out = html::serialize(&doc);
            let t3 = Instant::now();
            sites += s.len() + out.len() % 2;
            parse.push((t1 - t0).as_secs_f64());
            collect.push((t2 - t1).as_secs_f64());
            ser.push((t3 - t2).as_secs_f64());
        }
    }
    let med = |v: &mut Vec<f64>| common::median_ms(v);
    println!(
        "{} docs x {rounds}: parse {:.3} ms, collect {:.3} ms, serialise {:.3} ms (medians; {sites} sites)",
        docs.len(),
        med(&mut parse),
        med(&mut collect),
        med(&mut ser)
    );
}
