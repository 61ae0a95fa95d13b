//! What the timing examples share: the bodies of a directory, and a median.

/// The command line: a directory of bodies (default `bodies`) and a number of rounds (default 20).
pub fn args() -> (String, usize) {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "bodies".into());
    (dir, args.next().and_then(|r| r.parse().ok()).unwrap_or(20))
}

/// The `.html` files of `dir`, read, in name order.
pub fn bodies(dir: &str) -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("a directory of .html bodies")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
}

/// The median of `times` (seconds), in milliseconds.
pub fn median_ms(times: &mut [f64]) -> f64 {
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2] * 1e3
}
