//! tracker-block's compiled core, exposed to Python as ``tracker_block._core``.
use pyo3::prelude::*;

/// The document pass allocates many small strings and nodes per document: mimalloc is measurably
/// faster at that than glibc malloc (benchmarks/README.md, issue 17). Version 2 (`core/Cargo.toml`):
/// version 3 crashed in `mi_thread_init` on a thread started after another had cleaned a large
/// message and exited (tests/test_native_host.py).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod css;
pub mod dataurl;
pub mod detect;
pub mod engine;
pub mod filterlist;
pub mod heuristics;
pub mod html;
pub mod psl;
pub mod pycompat;
pub mod qp;
pub mod rules;
pub mod stylesheet;
pub mod urls;
mod py_css;
mod py_engine;
mod py_html;
mod py_judge;
mod py_mime;
mod py_toml;
#[cfg(test)]
mod testrand;
#[cfg(test)]
mod judge_corpus;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    py_css::register(m)?;
    py_html::register(m)?;
    py_judge::register(m)?;
    py_engine::register(m)?;
    py_toml::register(m)?;
    py_mime::register(m)?;
    Ok(())
}
