//! Compiles lexbor from the source tree named by LEXBOR_SRC (selectolax's sdist vendors it:
//! `selectolax-1.0.2/lexbor/source`).
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a lexbor source directory") {
        let p = entry.expect("readable").path();
        if p.is_dir() {
            walk(&p, out)
        } else if p.extension().is_some_and(|x| x == "c") {
            out.push(p)
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("LEXBOR_SRC").expect("LEXBOR_SRC=.../lexbor/source"));
    println!("cargo:rerun-if-env-changed=LEXBOR_SRC");
    let mut files = Vec::new();
    for d in ["core", "dom", "html", "ns", "tag", "ports/posix", "css", "selectors", "style", "encoding", "utils",
              "unicode", "punycode", "url", "engine"] {
        walk(&root.join("lexbor").join(d), &mut files);
    }
    let mut b = cc::Build::new();
    b.include(&root).define("LEXBOR_STATIC", None).opt_level(2).warnings(false);
    b.files(&files);
    b.compile("lexbor");
}
