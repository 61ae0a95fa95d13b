//! The rule files' TOML read into Python values, as `tomllib.loads` gives them. Every `tracker-block`
//! process reads about 450 KB of rules before its first message; tomllib takes about 40 ms of that
//! (a one-process-per-message `pipe` filter pays it for every message), this a few.
//!
//! Only the answer for valid TOML without dates is given here: a syntax error, or a date or time
//! (tomllib makes those `datetime` objects), returns None and the caller asks tomllib, so error
//! messages and values stay tomllib's own.
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use toml::Value;

fn to_py(py: Python<'_>, v: &Value) -> PyResult<Option<PyObject>> {
    Ok(Some(match v {
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Integer(i) => i.into_pyobject(py)?.into_any().unbind(),
        Value::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
        Value::Boolean(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Datetime(_) => return Ok(None),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                match to_py(py, item)? {
                    Some(o) => list.append(o)?,
                    None => return Ok(None),
                }
            }
            list.into_any().unbind()
        }
        Value::Table(table) => match table_to_py(py, table)? {
            Some(d) => d,
            None => return Ok(None),
        },
    }))
}

fn table_to_py(py: Python<'_>, table: &toml::Table) -> PyResult<Option<PyObject>> {
    let dict = PyDict::new(py);
    for (k, v) in table {
        match to_py(py, v)? {
            Some(o) => dict.set_item(k, o)?,
            None => return Ok(None),
        }
    }
    Ok(Some(dict.into_any().unbind()))
}

/// A TOML document as a dict (keys in document order), or None: not valid TOML, or it holds a
/// date or time; ask tomllib then.
#[pyfunction]
fn parse_toml(py: Python<'_>, text: &str) -> PyResult<Option<PyObject>> {
    let Ok(table) = py.allow_threads(|| text.parse::<toml::Table>()) else {
        return Ok(None);
    };
    table_to_py(py, &table)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_toml, m)?)?;
    Ok(())
}
