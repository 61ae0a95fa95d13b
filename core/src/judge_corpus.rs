//! Inputs for the tests that hold each verdict shortcut equal to the plain computation: the URLs of
//! the judge's differential corpus (``tests/data/judge_expectations.json.gz``, real-shaped mail URLs
//! that the Python suite replays) and URLs generated from pieces the verdicts look at; and the
//! benchmark corpora's bodies and sheets (`from_gen_py`) for the parser's and the CSS scan's tests.
use std::io::Read;

use crate::testrand::XorShift;

/// Every string of the judge corpus (URLs, targets, hosts, reasons, …).
pub fn strings() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/judge_expectations.json.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("judge corpus")).read_to_string(&mut text)
        .expect("gzip");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["strings"].as_array().expect("strings").iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()
}

/// The corpus strings that are URLs (absolute or protocol-relative).
pub fn urls() -> Vec<String> {
    let out: Vec<String> = strings().into_iter().filter(|s| s.contains("://") || s.starts_with("//")).collect();
    assert!(out.len() > 10_000, "the corpus has lost its URLs: {}", out.len());
    out
}

const PIECES: &[&str] = &[
    "https://", "http://", "//", "HTTPS://", "t.", "click.", "email.", "list-manage.com", "sendgrid.net", "example.org",
    "doubleclick.net", "google-analytics.com", "/", "/", "/", "/wf/open", "/o", "/O", "/open", "/track/open", "/e/o/",
    "/pixel", ".gif", ".png", ".GIF", ".jpg", ".php", "/imp", "/impression", "/1x1", "/spacer", "/blank", "/t", "/r",
    "/collect", "piwik.php", "/b/ss/", "/ad/", "/ads", "/g.gif", "/beacon", "/trk", "/I0/", "?", "?", "&", "=", "&rec=1",
    "tid=", "cid=", "zone=", "w=", "v=", "utm_source=", "upn=", "u001.", "#", ".", "-", "_", "%", "%40", "%2F", "@",
    "12345", "5521", "88017", "007", "1", "0", "aB1cD2eF3gH4iJ5kL6mN7oP8qR9", "5d41402abc4b2a76b9719d911017c592",
    "DEADBEEF", "fedcba9876543210fedcba98765432", "0123456789abcdef", "x", "Y", "é", "\u{212a}", "Σ", "İ", "ß",
    "jane.doe@example.org", "JANE.DOE", "amFuZS5kb2VAZXhhbXBsZS5vcm", "~", "+", ";", ":8080", "\t", " ",
];

/// `n` URLs glued from `PIECES` (the same every run).
pub fn generated(seed: u64, n: usize) -> Vec<String> {
    let mut rng = XorShift(seed);
    (0..n)
        .map(|_| {
            let len = 1 + rng.below(14);
            (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect()
        })
        .collect()
}

/// What `code` (Python, run in `benchmarks/` with `gen` importable: the standard library only)
/// writes to stdout, cut at NULs: bodies or sheets of the benchmark corpora for tests.
pub fn from_gen_py(code: &str) -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .current_dir(root.join("benchmarks"))
        .args(["-c", code])
        .output()
        .expect("python3 runs benchmarks/gen.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.split('\0').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}
