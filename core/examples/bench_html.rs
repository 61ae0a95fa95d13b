//! Per-stage cost of the HTML pass without Python in the way: parse, collect, serialise.
//!
//!     python benchmarks/gen.py html /tmp/bodies -n 40
//!     cargo run --release --example bench_html -- /tmp/bodies [rounds]
use std::time::Instant;

use _core::html;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "bodies".into());
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let mut docs: Vec<String> = std::fs::read_dir(&dir)
        .expect("a directory of .html bodies")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    docs.sort();
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
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2] * 1e3
    };
    println!(
        "{} docs x {rounds}: parse {:.3} ms, collect {:.3} ms, serialise {:.3} ms (medians; {sites} sites)",
        docs.len(),
        med(&mut parse),
        med(&mut collect),
        med(&mut ser)
    );
}
