//! Python bindings of the document pass: `clean_html` and `clean_text` take the compiled rules
//! (`Judge`), the recipient identity and the options, and give back the cleaned text with the
//! findings as tuples. The work runs without the GIL: nothing Python is touched per site or URL.
//! A `str` with lone surrogates is read with U+FFFD in their place (as the judge reads one).
use std::cell::RefCell;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::detect::Detector;
use crate::engine::clean::{clean_document, clean_text as clean_text_core, LinkPlans, Proxy, Settings};
use crate::engine::finding::Finding;
use crate::engine::policy::Mode;
use crate::engine::signing::KeyRing;
use crate::py_judge::{read_str, PyIdentity, PyJudge, Text};

/// (kind, url, where, action, reason, tracker, certainty, detail)
type FindingTuple = (String, Option<String>, String, &'static str, String, Option<String>, String, Option<String>);
/// (base, [(key id, secret)], ttl seconds or None, now in unix seconds)
type ProxyTuple = (String, Vec<(String, Vec<u8>)>, Option<u64>, u64);

fn tuples(findings: Vec<Finding>) -> Vec<FindingTuple> {
    findings
        .into_iter()
        .map(|f| (f.kind, f.url, f.where_, f.action, f.reason, f.tracker, f.certainty, f.detail))
        .collect()
}

fn mode_of(mode: &str) -> PyResult<Mode> {
    match mode {
        "trackers" => Ok(Mode::Trackers),
        "all" => Ok(Mode::All),
        "proxy" => Ok(Mode::Proxy),
        _ => Err(PyValueError::new_err(format!("unknown mode {mode:?}"))),
    }
}

fn proxy_of(proxy: Option<ProxyTuple>) -> PyResult<Option<Proxy>> {
    Ok(match proxy {
        None => None,
        Some((_, keys, _, _)) if keys.is_empty() => return Err(PyValueError::new_err("a key ring needs a key")),
        Some((base, keys, ttl, now)) => Some(Proxy { base, keys: KeyRing { keys }, ttl, now }),
    })
}

/// Link decisions shared by the parts of one message (`clean_message` makes one per message): a
/// newsletter's text part repeats its HTML part's links. Only valid for one set of rules, identity,
/// link cleaning and List-Unsubscribe URLs, which is what one message is cleaned with.
#[pyclass(name = "LinkPlans", module = "tracker_block._core")]
#[derive(Default)]
pub struct PyLinkPlans {
    inner: Mutex<LinkPlans>,
}

#[pymethods]
impl PyLinkPlans {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    fn __len__(&self) -> usize {
        self.inner.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// The shared decisions taken out for one call (put back by `give_back`); a fresh set without one.
fn take_plans(plans: &Option<PyRef<'_, PyLinkPlans>>) -> LinkPlans {
    plans.as_ref().and_then(|p| p.inner.lock().ok().map(|mut m| std::mem::take(&mut *m))).unwrap_or_default()
}

fn give_back(plans: &Option<PyRef<'_, PyLinkPlans>>, map: LinkPlans) {
    if let Some(mut m) = plans.as_ref().and_then(|p| p.inner.lock().ok()) {
        *m = map;
    }
}

/// Clean one HTML document: (html, findings). `unsubscribe`: the List-Unsubscribe URLs.
#[pyfunction]
#[pyo3(signature = (text, judge, identity, sender_domain, mode, clean_links, unsubscribe, proxy=None, plans=None))]
#[allow(clippy::too_many_arguments)]
fn clean_html(py: Python<'_>, text: &Bound<'_, PyString>, judge: PyRef<'_, PyJudge>, identity: PyRef<'_, PyIdentity>,
              sender_domain: Option<&str>, mode: &str, clean_links: bool, unsubscribe: Vec<String>,
              proxy: Option<ProxyTuple>, plans: Option<PyRef<'_, PyLinkPlans>>)
              -> PyResult<(String, Vec<FindingTuple>)> {
    let (judge, identity) = (judge.inner.clone(), identity.inner.clone());
    let text = read_str(text); // borrowed: a 16 MB body is not copied before it is read
    let mode = mode_of(mode)?;
    let proxy = proxy_of(proxy)?;
    let start = take_plans(&plans);
    let (out, findings, known) = py.allow_threads(|| {
        let known = RefCell::new(start);
        let settings = Settings { mode, clean_links, proxy: proxy.as_ref(), unsubscribe: &unsubscribe, plans: &known };
        let detector = || Detector::new(judge.clone(), identity.clone(), sender_domain);
        let (out, findings) = clean_document(&text, &settings, &detector);
        (out, findings, known.into_inner())
    });
    give_back(&plans, known);
    Ok((out, tuples(findings)))
}

/// Clean the links of a text/plain part: (text, findings).
#[pyfunction]
#[pyo3(signature = (text, judge, identity, clean_links, unsubscribe, plans=None))]
fn clean_text(py: Python<'_>, text: Text, judge: PyRef<'_, PyJudge>, identity: PyRef<'_, PyIdentity>,
              clean_links: bool, unsubscribe: Vec<String>, plans: Option<PyRef<'_, PyLinkPlans>>)
              -> (String, Vec<FindingTuple>) {
    let (judge, identity) = (judge.inner.clone(), identity.inner.clone());
    let start = take_plans(&plans);
    let (out, findings, known) = py.allow_threads(|| {
        let known = RefCell::new(start);
        let settings = Settings { mode: Mode::Trackers, clean_links, proxy: None, unsubscribe: &unsubscribe, plans: &known };
        let (out, findings) = clean_text_core(&text.0, &settings, Detector::new(judge, identity, None));
        (out, findings, known.into_inner())
    });
    give_back(&plans, known);
    (out, tuples(findings))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(clean_html, m)?)?;
    m.add_function(wrap_pyfunction!(clean_text, m)?)?;
    m.add_class::<PyLinkPlans>()?;
    Ok(())
}
