//! Python bindings for the byte work of rebuilding a message (`tracker_block.engine.mime`).
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)`, faster.
#[pyfunction]
fn qp_encode<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let out = py.allow_threads(|| crate::qp::encode(data));
    PyBytes::new(py, &out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(qp_encode, m)?)?;
    Ok(())
}
