//! tracker-block's compiled core, exposed to Python as ``tracker_block._core``.
use pyo3::prelude::*;

pub mod css;
pub mod dataurl;
mod py_css;
pub mod stylesheet;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    py_css::register(m)?;
    Ok(())
}
