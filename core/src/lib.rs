//! tracker-block's compiled core, exposed to Python as ``tracker_block._core``.
use pyo3::prelude::*;

pub mod html;
mod py_html;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    py_html::register(m)?;
    Ok(())
}
