//! tracker-block's compiled core, exposed to Python as ``tracker_block._core``.
use pyo3::prelude::*;

pub mod css;
pub mod dataurl;
pub mod html;
mod py_css;
mod py_html;
pub mod stylesheet;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    py_css::register(m)?;
    py_html::register(m)?;
    Ok(())
}
