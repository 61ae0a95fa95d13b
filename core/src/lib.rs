//! tracker-block's compiled core, exposed to Python as ``tracker_block._core``.
use pyo3::prelude::*;

pub mod detect;
pub mod filterlist;
pub mod heuristics;
pub mod psl;
mod py_judge;
pub mod pycompat;
pub mod rules;
pub mod urls;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    py_judge::register(m)?;
    Ok(())
}
