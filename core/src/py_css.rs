//! Python bindings of the CSS cleaning and `data:` URL checks (`tracker_block._core`).
//!
//! The judge stays a Python callable: it is called once per URL found (never per token). Its answer
//! is read as the Python code read it: `False` removes, a `str` replaces, anything else keeps. An
//! exception it raises stops the judging (later URLs are removed unjudged) and is raised again.

use crate::css::{self, Judged, ValueOutcome};
use crate::dataurl;
use crate::stylesheet::{self, Decl, Rule};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString, PyTuple};
use std::borrow::Cow;

struct PyJudge<'py> {
    judge: Bound<'py, PyAny>,
    error: Option<PyErr>,
}

impl<'py> PyJudge<'py> {
    fn new(judge: Bound<'py, PyAny>) -> Self {
        PyJudge { judge, error: None }
    }

    fn call(&mut self, url: &str, kind: &str, where_: &str) -> Judged {
        if self.error.is_some() {
            return Judged::Remove;
        }
        match self.judge.call1((url, kind, where_)) {
            Ok(v) => {
                if v.is(&*PyBool::new(v.py(), false)) {
                    Judged::Remove
                } else if let Ok(s) = v.downcast::<PyString>() {
                    Judged::Replace(s.to_string_lossy().into_owned())
                } else {
                    Judged::Keep
                }
            }
            Err(e) => {
                self.error = Some(e);
                Judged::Remove
            }
        }
    }

    fn finish<T>(self, value: T) -> PyResult<T> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// The text of a Python str (a lone surrogate, which Rust strings cannot hold, reads as U+FFFD).
fn text<'a>(s: &'a Bound<'_, PyString>) -> Cow<'a, str> {
    s.to_string_lossy()
}

#[pyfunction]
fn css_may_load(text_: &Bound<'_, PyString>) -> bool {
    css::may_load(&text(text_))
}

/// `splice=False` reads and writes every rule (tests hold the passed-on rules to it).
#[pyfunction]
#[pyo3(signature = (text_, judge, splice = true))]
fn css_clean_stylesheet(text_: &Bound<'_, PyString>, judge: Bound<'_, PyAny>, splice: bool) -> PyResult<Option<String>> {
    let mut j = PyJudge::new(judge);
    let out = css::clean_stylesheet_with(&text(text_), |u: &str, k: &str, w: &str| j.call(u, k, w), splice);
    j.finish(out)
}

/// A sheet as the cleaner writes a rule back (tinycss2's serialisation of its tokens): tests compare
/// a written sheet with a recorded one through it. None when it nests too deep to read.
#[pyfunction]
fn css_reserialize(text_: &Bound<'_, PyString>) -> Option<String> {
    let src = css::tokens::normalise(&text(text_)).into_owned();
    css::tokens::tokenize(&src, false).ok().map(|nodes| css::tokens::to_css(&nodes))
}

/// `plain=False` skips the fast path for plain declaration lists (tests compare the two).
#[pyfunction]
#[pyo3(signature = (text_, judge, plain = true))]
fn css_clean_declarations(text_: &Bound<'_, PyString>, judge: Bound<'_, PyAny>, plain: bool) -> PyResult<Option<String>> {
    let mut j = PyJudge::new(judge);
    let out = css::clean_declarations_with(&text(text_), |u: &str, k: &str, w: &str| j.call(u, k, w), plain);
    j.finish(out)
}

/// None: unchanged; False: the value must go; a str: the rewritten value.
#[pyfunction]
fn css_clean_value<'py>(
    py: Python<'py>,
    text_: &Bound<'py, PyString>,
    judge: Bound<'py, PyAny>,
    where_: &Bound<'py, PyString>,
) -> PyResult<PyObject> {
    let mut j = PyJudge::new(judge);
    let out = css::clean_value(&text(text_), |u: &str, k: &str, w: &str| j.call(u, k, w), &text(where_));
    let out = j.finish(out)?;
    Ok(match out {
        ValueOutcome::Unchanged => py.None(),
        ValueOutcome::Removed => PyBool::new(py, false).to_owned().into_any().unbind(),
        ValueOutcome::Rewritten(s) => PyString::new(py, &s).into_any().unbind(),
    })
}

#[pyfunction]
fn dataurl_scriptable_reason(url: &Bound<'_, PyString>) -> Option<&'static str> {
    dataurl::unsafe_reason(&text(url))
}

fn decls_tuple<'py>(py: Python<'py>, decls: Vec<Decl>) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, decls.into_iter().map(|d| PyTuple::new(py, [d.0.into_pyobject(py)?.into_any(), d.1.into_pyobject(py)?.into_any(), PyBool::new(py, d.2).to_owned().into_any()])).collect::<PyResult<Vec<_>>>()?)
}

fn rules_list<'py>(py: Python<'py>, rules: Vec<Rule>) -> PyResult<Bound<'py, PyList>> {
    let items = rules
        .into_iter()
        .map(|(cond, sel, decls)| -> PyResult<Bound<'py, PyTuple>> {
            PyTuple::new(py, [cond.into_pyobject(py)?.into_any(), sel.into_pyobject(py)?.into_any(), decls_tuple(py, decls)?.into_any()])
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// Can this sheet hide, show or size an element at all?
#[pyfunction]
fn css_sheet_matters(text_: &Bound<'_, PyString>) -> bool {
    stylesheet::sheet_matters(&text(text_))
}

/// [(condition, selector list, ((property, value, important), ...)), ...] of one sheet.
#[pyfunction]
fn css_sheet_structure<'py>(py: Python<'py>, text_: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyList>> {
    rules_list(py, stylesheet::structure(&text(text_)))
}

/// The brace-scan reading alone (None for a sheet it cannot read).
#[pyfunction]
fn css_light_structure<'py>(py: Python<'py>, text_: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyList>>> {
    stylesheet::light_structure(&text(text_)).map(|r| rules_list(py, r)).transpose()
}

/// The tokenised reading alone.
#[pyfunction]
fn css_full_structure<'py>(py: Python<'py>, text_: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyList>> {
    rules_list(py, stylesheet::full_structure(&text(text_)))
}

/// ((property, value, important), ...) of a style attribute.
#[pyfunction]
fn css_inline_decls<'py>(py: Python<'py>, style: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyTuple>> {
    decls_tuple(py, stylesheet::inline_decls(&text(style)))
}

/// (declaration name, its url() URLs) of a plain declaration list; None when it is not plain.
#[pyfunction]
fn css_plain_urls(text_: &Bound<'_, PyString>) -> Option<Vec<(String, Vec<String>)>> {
    css::plain::plain_urls(&text(text_))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(css_may_load, m)?)?;
    m.add_function(wrap_pyfunction!(css_clean_stylesheet, m)?)?;
    m.add_function(wrap_pyfunction!(css_reserialize, m)?)?;
    m.add_function(wrap_pyfunction!(css_clean_declarations, m)?)?;
    m.add_function(wrap_pyfunction!(css_clean_value, m)?)?;
    m.add_function(wrap_pyfunction!(css_plain_urls, m)?)?;
    m.add_function(wrap_pyfunction!(dataurl_scriptable_reason, m)?)?;
    m.add_function(wrap_pyfunction!(css_sheet_matters, m)?)?;
    m.add_function(wrap_pyfunction!(css_sheet_structure, m)?)?;
    m.add_function(wrap_pyfunction!(css_light_structure, m)?)?;
    m.add_function(wrap_pyfunction!(css_full_structure, m)?)?;
    m.add_function(wrap_pyfunction!(css_inline_decls, m)?)?;
    Ok(())
}
