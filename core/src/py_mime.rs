//! Python bindings for the byte work of rebuilding a message (`tracker_block.engine.mime`).
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)`, faster.
#[pyfunction]
fn qp_encode<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    let out = py.allow_threads(|| crate::qp::encode(data));
    PyBytes::new(py, &out)
}

/// `base64.encodebytes(data)`: lines of 76 characters, each ended by a newline, faster (the stdlib
/// calls into C once a line).
#[pyfunction]
fn base64_lines<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    use base64::Engine;
    let out = py.allow_threads(|| {
        let flat = base64::engine::general_purpose::STANDARD.encode(data);
        let mut out = Vec::with_capacity(flat.len() + flat.len() / 76 + 1);
        for line in flat.as_bytes().chunks(76) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out
    });
    PyBytes::new(py, &out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(qp_encode, m)?)?;
    m.add_function(wrap_pyfunction!(base64_lines, m)?)?;
    Ok(())
}
