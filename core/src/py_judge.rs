//! The thin Python layer over the judge: rule data in once, plain tuples out per question.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::detect::{self, Verdict};
use crate::filterlist::{self, kind_bit, FilterIndex, ListInput};
use crate::heuristics::{self as h, Identity};
use crate::psl::Psl;
use crate::rules::{self, Judge, JudgeInput, Owner, RuleHit};
use crate::urls;

/// A string argument read from Python. A ``str`` holding lone surrogates (not text: only reachable
/// through the Python API, never from a decoded message) is read with U+FFFD in their place
/// instead of raising, as the Python judge accepted any ``str``.
pub(crate) struct Text(pub(crate) String);

impl<'py> FromPyObject<'py> for Text {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Text(read_str(ob.downcast::<PyString>()?).into_owned()))
    }
}

/// A Python `str` as Rust reads it: borrowed when it is valid UTF-8, else with U+FFFD in place of
/// its lone surrogates.
pub(crate) fn read_str<'a>(s: &'a Bound<'_, PyString>) -> std::borrow::Cow<'a, str> {
    match s.to_str() {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => s.to_string_lossy(),
    }
}

static PSL: RwLock<Option<Arc<Psl>>> = RwLock::new(None);
static EMPTY_PSL: OnceLock<Arc<Psl>> = OnceLock::new();

fn psl() -> Arc<Psl> {
    if let Ok(g) = PSL.read() {
        if let Some(p) = g.as_ref() {
            return p.clone();
        }
    }
    EMPTY_PSL.get_or_init(|| Arc::new(Psl::default())).clone()
}

/// Load the public-suffix list text (tldextract's bundled snapshot), once per process.
#[pyfunction]
fn load_public_suffixes(text: &str) -> PyResult<()> {
    let mut g = PSL.write().map_err(|_| PyValueError::new_err("public-suffix list lock poisoned"))?;
    *g = Some(Arc::new(Psl::from_text(text)));
    Ok(())
}

#[pyfunction]
fn registrable_domain(host: Text) -> String {
    psl().registrable_domain(&host.0)
}

fn kind(k: &str) -> PyResult<u16> {
    kind_bit(k).ok_or_else(|| PyValueError::new_err(format!("unknown load kind {k:?}")))
}

/// Every loaded filter list compiled into one index.
#[pyclass(frozen, module = "tracker_block._core", name = "FilterIndex")]
struct PyFilterIndex {
    inner: Arc<FilterIndex>,
}

#[pymethods]
impl PyFilterIndex {
    /// ``lists``: (file, text, label, links) in load order.
    #[new]
    fn new(lists: Vec<(String, String, String, bool)>) -> Self {
        let inputs: Vec<ListInput> = lists.into_iter()
            .map(|(file, text, label, links)| ListInput { file, text, label, links })
            .collect();
        PyFilterIndex { inner: Arc::new(FilterIndex::build(&inputs)) }
    }

    /// (file, index among that list's loaded filters) of the filter that blocks ``url``, or None.
    #[pyo3(signature = (url, host, kind="image"))]
    fn find(&self, url: Text, host: Text, kind: &str) -> PyResult<Option<(String, usize)>> {
        let k = self::kind(kind)?;
        Ok(self.inner.find(&url.0, &host.0, k).map(|f| (f.file.clone(), f.index)))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

type LoadedFilter = (String, Vec<&'static str>, bool, Option<String>, String, bool);

/// Parse one list: (loaded filters as (text, kinds, exception, host, pattern, match_case),
/// dropped (text, reason), comment lines).
#[pyfunction]
fn parse_filter_list(text: &str, list_id: &str, file: &str) -> (Vec<LoadedFilter>, Vec<(String, String)>, usize) {
    let res = filterlist::parse(text, list_id, file);
    let loaded = res.loaded.into_iter()
        .map(|f| (f.text, filterlist::kind_names(f.kinds), f.exception, f.host, f.pattern, f.match_case))
        .collect();
    (loaded, res.dropped, res.comments)
}

/// Why a rule regex does not compile in the judge (None when it does): checked when a user file loads.
#[pyfunction]
fn regex_problem(pattern: &str) -> Option<String> {
    let rx = rules::LazyRegex::new(pattern.to_string());
    let problem = rx.get().err().map(|e| e.split_whitespace().collect::<Vec<_>>().join(" "));
    problem
}

#[pyfunction]
fn pattern_regex(pattern: &str) -> String {
    filterlist::pattern_regex(pattern)
}

/// The compiled rule set.
#[pyclass(frozen, module = "tracker_block._core", name = "Judge")]
pub(crate) struct PyJudge {
    pub(crate) inner: Arc<Judge>,
}

type VendorTuple = (String, String, String, Vec<String>, Vec<String>, Vec<String>, Vec<String>, Vec<String>);
type RedirectTuple = (String, Vec<String>, String, String, Option<String>, String);
type ParamTuple = (Option<String>, Option<String>, Vec<String>, Option<String>);
/// (vendor index or -1, list file, index in that list or -1, rule id, use)
type HitTuple = (i64, Option<String>, i64, String, &'static str);

fn verdict_tuple(py: Python<'_>, v: Option<Verdict>) -> PyResult<PyObject> {
    Ok(match v {
        None => py.None(),
        Some(v) => PyTuple::new(py, [v.tracker.into_pyobject(py)?.to_owned().into_any().unbind(),
            v.reason.into_pyobject(py)?.into_any().unbind(), v.certainty.into_pyobject(py)?.into_any().unbind(),
            v.company.into_pyobject(py)?.into_any().unbind(), v.use_.into_pyobject(py)?.into_any().unbind()])?
            .into_any().unbind(),
    })
}

impl PyJudge {
    fn hit(&self, r: Option<RuleHit>) -> Option<HitTuple> {
        let r = r?;
        Some(match r.owner {
            Owner::Vendor(i) => (i as i64, None, -1, r.rule_id, r.use_.as_str()),
            Owner::List(f) => {
                let f = self.inner.list_filter(f)?;
                (-1, Some(f.file.clone()), f.index as i64, r.rule_id, r.use_.as_str())
            }
        })
    }
}

#[pymethods]
impl PyJudge {
    /// vendors: (id, name, category, open, click, content, domains, tracking_hosts);
    /// redirects: (id, domains, match, param, extract, decode); params: (name, pattern, hosts, keep_if_url).
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(vendors: Vec<VendorTuple>, redirects: Vec<RedirectTuple>, params: Vec<ParamTuple>, exempt_hosts: Vec<String>,
           generic_open: Vec<String>, spacer: Vec<String>, filters: PyRef<'_, PyFilterIndex>) -> Self {
        let input = JudgeInput {
            vendors: vendors.into_iter().map(|(id, name, category, open, click, content, domains, tracking_hosts)| {
                rules::VendorInput { id, name, category, open, click, content, domains, tracking_hosts }
            }).collect(),
            redirects: redirects.into_iter().map(|(id, domains, matcher, param, extract, decode)| {
                rules::RedirectInput { id, domains, matcher, param, extract, decode }
            }).collect(),
            params: params.into_iter().map(|(name, pattern, hosts, keep_if_url)| {
                rules::ParamInput { name, pattern, hosts, keep_if_url }
            }).collect(),
            exempt_hosts, generic_open, spacer,
        };
        PyJudge { inner: Arc::new(Judge::build(input, filters.inner.clone(), psl())) }
    }

    /// Compile every pattern now: the problems found (empty when all compile).
    fn problems(&self) -> Vec<String> {
        self.inner.problems()
    }

    fn candidates(&self, host: &str) -> Vec<usize> {
        self.inner.candidates(host).collect()
    }

    #[pyo3(signature = (host, target, kind="image"))]
    fn match_load(&self, host: Text, target: Text, kind: &str) -> PyResult<Option<HitTuple>> {
        Ok(self.hit(self.inner.match_load(&host.0, &target.0, self::kind(kind)?)))
    }

    fn match_click(&self, host: Text, target: Text) -> Option<HitTuple> {
        self.hit(self.inner.match_click(&host.0, &target.0))
    }

    /// Hits over (host, target) pairs, each judged as an image load and as a link, `rounds` times,
    /// with the GIL released: what matching costs inside the engine, without a Python call per URL
    /// (``benchmarks/bench_rules.py``).
    fn count_hits(&self, py: Python<'_>, pairs: Vec<(String, String)>, rounds: usize) -> usize {
        let judge = &self.inner;
        py.allow_threads(|| {
            let mut hits = 0;
            for _ in 0..rounds {
                for (host, target) in &pairs {
                    hits += judge.match_load(host, target, 1).is_some() as usize;
                    hits += judge.match_click(host, target).is_some() as usize;
                }
            }
            hits
        })
    }

    fn match_redirect(&self, host: Text, target: Text, url: Text) -> Option<(String, String, String)> {
        self.inner.match_redirect(&host.0, &target.0, &url.0).map(|(a, b, c)| (a.to_string(), b, c.to_string()))
    }

    fn is_tracking_param(&self, name: Text, host: Text, url: Text) -> bool {
        self.inner.is_tracking_param(&name.0, &host.0, &url.0)
    }

    fn generic_open(&self, target: Text) -> bool {
        self.inner.generic_open(&target.0)
    }

    fn spacer(&self, target: Text) -> bool {
        self.inner.spacer(&target.0)
    }

    fn unwrap_and_strip(&self, url: Text) -> (String, Option<String>, String, Vec<String>) {
        urls::unwrap_and_strip(&url.0, &self.inner)
    }

    /// (url, redirect rule id, stripped names); ``conservative`` is a bool or a predicate on the destination.
    fn clean_link(&self, url: Text, conservative: &Bound<'_, PyAny>) -> PyResult<(String, Option<String>, Vec<String>)> {
        let mut err: Option<PyErr> = None;
        let res = if conservative.is_callable() {
            urls::clean_link(&url.0, &self.inner, |dest| match conservative.call1((dest,)).and_then(|r| r.is_truthy()) {
                Ok(b) => b,
                Err(e) => {
                    err = Some(e);
                    false
                }
            })
        } else {
            let flag = conservative.is_truthy()?;
            urls::clean_link(&url.0, &self.inner, |_| flag)
        };
        if let Some(e) = err {
            return Err(e);
        }
        Ok((res.url, res.unwrapped_by, res.stripped))
    }

    fn link(&self, py: Python<'_>, identity: PyRef<'_, PyIdentity>, url: Text) -> PyResult<PyObject> {
        verdict_tuple(py, detect::link_verdict(&self.inner, &identity.inner, &url.0))
    }
}

/// The recipient's addresses in every form (built by Python), matched with one automaton per case rule.
#[pyclass(frozen, module = "tracker_block._core", name = "Identity")]
pub(crate) struct PyIdentity {
    pub(crate) inner: Arc<Identity>,
}

#[pymethods]
impl PyIdentity {
    #[new]
    fn new(folded: Vec<(String, String)>, exact: Vec<(String, String)>) -> Self {
        PyIdentity { inner: Arc::new(Identity::new(folded, exact)) }
    }

    fn find(&self, url: Text) -> Option<String> {
        self.inner.find(&url.0).map(str::to_string)
    }
}

/// Judges URLs for one message.
#[pyclass(module = "tracker_block._core", name = "Detector")]
struct PyDetector {
    inner: detect::Detector,
}

#[pymethods]
impl PyDetector {
    #[new]
    #[pyo3(signature = (judge, identity, sender_domain=None))]
    fn new(judge: PyRef<'_, PyJudge>, identity: PyRef<'_, PyIdentity>, sender_domain: Option<&str>) -> Self {
        PyDetector { inner: detect::Detector::new(judge.inner.clone(), identity.inner.clone(), sender_domain) }
    }

    #[getter]
    fn sender_domain(&self) -> Option<String> {
        self.inner.sender_domain.clone()
    }

    /// How each image URL is used across the document (count per URL, the ones shown at a real size).
    fn set_stats(&mut self, count: HashMap<String, u32>, visible: HashSet<String>) {
        self.inner.count = count.into_iter().collect();
        self.inner.visible = visible.into_iter().collect();
    }

    #[pyo3(signature = (url, width=None, height=None, hidden=false))]
    fn load(&self, py: Python<'_>, url: Text, width: Option<f64>, height: Option<f64>, hidden: bool) -> PyResult<PyObject> {
        verdict_tuple(py, self.inner.load(&url.0, width, height, hidden))
    }

    fn settled(&self, url: Text) -> bool {
        self.inner.settled(&url.0)
    }

    fn link(&self, py: Python<'_>, url: Text) -> PyResult<PyObject> {
        verdict_tuple(py, self.inner.link(&url.0))
    }
}

#[pyfunction]
fn normalise(url: Text) -> String {
    urls::normalise(&url.0).into_owned()
}

#[pyfunction]
fn scheme_of(url: Text) -> String {
    urls::scheme_of(&url.0).into_owned()
}

#[pyfunction]
fn is_remote(url: Text) -> bool {
    urls::is_remote(&url.0)
}

#[pyfunction]
fn absolute(url: Text) -> String {
    urls::absolute(&url.0)
}

#[pyfunction]
fn parts(url: Text) -> (String, String) {
    let p = urls::parts(&url.0);
    (p.host, p.target)
}

#[pyfunction]
fn canonical(url: Text) -> PyResult<String> {
    urls::canonical(&url.0).map_err(PyValueError::new_err)
}

#[pyfunction]
fn path_signals(target: Text) -> Vec<&'static str> {
    h::path_signals(&target.0)
}

#[pyfunction]
fn extra_path_signals(target: Text) -> Vec<&'static str> {
    h::extra_path_signals(&target.0)
}

#[pyfunction]
#[pyo3(signature = (width, height))]
fn size_signal(width: Option<f64>, height: Option<f64>) -> Option<&'static str> {
    h::size_signal(width, height)
}

#[pyfunction]
fn is_spacer_name(target: Text) -> bool {
    h::is_spacer_name(&target.0)
}

#[pyfunction]
#[pyo3(signature = (host, sender_domain, registrable))]
fn tracking_subdomain(host: &str, sender_domain: Option<&str>, registrable: &str) -> bool {
    h::tracking_subdomain(host, sender_domain, registrable)
}

/// Each signal's weight (the report's signal names) and the score that blocks.
#[pyfunction]
fn signal_scores() -> (Vec<(&'static str, i32)>, i32) {
    let names = ["tracking-path", "tracking-path-weak", "opaque-token", "no-image-extension", "tiny-image", "thin-image",
                 "hidden-image", "generic-rule", "tracking-filename", "impression-endpoint", "query-id",
                 "account-message-ids", "tracking-subdomain"];
    (names.iter().map(|n| (*n, h::signal_score(n))).collect(), h::BLOCK_SCORE)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFilterIndex>()?;
    m.add_class::<PyJudge>()?;
    m.add_class::<PyIdentity>()?;
    m.add_class::<PyDetector>()?;
    for f in [wrap_pyfunction!(load_public_suffixes, m)?, wrap_pyfunction!(registrable_domain, m)?,
              wrap_pyfunction!(parse_filter_list, m)?, wrap_pyfunction!(regex_problem, m)?, wrap_pyfunction!(pattern_regex, m)?,
              wrap_pyfunction!(normalise, m)?, wrap_pyfunction!(scheme_of, m)?, wrap_pyfunction!(is_remote, m)?,
              wrap_pyfunction!(absolute, m)?, wrap_pyfunction!(parts, m)?, wrap_pyfunction!(canonical, m)?,
              wrap_pyfunction!(path_signals, m)?, wrap_pyfunction!(extra_path_signals, m)?,
              wrap_pyfunction!(size_signal, m)?, wrap_pyfunction!(is_spacer_name, m)?,
              wrap_pyfunction!(tracking_subdomain, m)?, wrap_pyfunction!(signal_scores, m)?] {
        m.add_function(f)?;
    }
    Ok(())
}
