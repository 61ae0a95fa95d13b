//! Python bindings of the HTML pass, for the differential tests and the parser benchmark.
//! (The engine will call `html::` from Rust; nothing here is on the hot path.)
use pyo3::prelude::*;

use crate::html::{self, Exceeded};

impl From<Exceeded> for PyErr {
    fn from(e: Exceeded) -> PyErr {
        pyo3::exceptions::PyValueError::new_err(e.to_string())
    }
}

type SiteTuple = (
    (&'static str, String, Option<String>, Option<String>, bool, Option<f64>, Option<f64>),
    (bool, Option<String>, Option<String>, &'static str, Option<Vec<(String, String)>>, String),
);

/// Sites of `html` as tuples (kind, where, attr, url, load, width, height, hidden, always, css,
/// css_mode, srcset, text) in two nested tuples (PyO3 converts at most 12), and the mutation-prone flag: what `tracker_block.html.collect` gives.
#[pyfunction]
fn collect_sites(py: Python<'_>, html: &str) -> PyResult<(Vec<SiteTuple>, bool)> {
    let (sites, prone) = py.allow_threads(|| html::parse(html).map(|doc| html::collect(&doc)))?;
    let tuples = sites
        .into_iter()
        .map(|s| {
            (
                (s.kind, s.where_, s.attr, s.url, s.load, s.width, s.height),
                (s.hidden, s.always, s.css, s.css_mode, s.srcset, s.text),
            )
        })
        .collect();
    Ok((tuples, prone))
}

/// `tracker_block.html.link_text` of every site of `html`, in `collect_sites` order.
#[pyfunction]
fn link_texts(py: Python<'_>, html: &str) -> PyResult<Vec<String>> {
    py.allow_threads(|| {
        let doc = html::parse(html)?;
        Ok(html::collect(&doc).0.iter().map(|s| html::link_text(&doc, s)).collect())
    })
}

/// Parse and serialise `html` (html5ever's tree builder into the arena DOM, our serialiser); with
/// `html5ever_tokenizer`, fed by html5ever's tokenizer instead of ours (for `bench_parsers.py`).
#[pyfunction]
#[pyo3(signature = (html, html5ever_tokenizer = false))]
fn reserialize(py: Python<'_>, html: &str, html5ever_tokenizer: bool) -> PyResult<String> {
    let tokens = if html5ever_tokenizer { html::parse::Tokens::Html5ever } else { html::parse::Tokens::Ours };
    Ok(py.allow_threads(|| html::parse::parse_using(html, tokens).map(|doc| html::serialize(&doc)))?)
}

/// Parse `html`, apply `ops` — (site index in `collect_sites` order, operation, argument) with the
/// operation named as its `tracker_block.html` function — in the engine's order, and serialise.
#[pyfunction]
fn rewrite_sites(py: Python<'_>, html: &str, ops: Vec<(usize, String, Option<String>)>) -> PyResult<String> {
    use html::Op;
    py.allow_threads(|| {
        let mut doc = html::parse(html).map_err(|e| e.to_string())?;
        let (sites, _) = html::collect(&doc);
        let mut plan = Vec::with_capacity(ops.len());
        for (i, name, arg) in ops {
            let site = sites.get(i).ok_or_else(|| format!("no site {i}"))?;
            let arg = || arg.clone().ok_or_else(|| format!("{name} needs an argument"));
            let op = match name.as_str() {
                "remove" => Op::Remove,
                "remove_element" => Op::RemoveElement,
                "set_attr" => Op::SetAttr(arg()?),
                "set_css" => Op::SetCss(arg()?),
                "placeholder" => Op::Placeholder(arg()?),
                "unwrap" => Op::Unwrap,
                "xmp_to_pre" => Op::XmpToPre,
                "set_comment" => Op::SetComment(arg()?),
                other => return Err(format!("unknown operation {other:?}")),
            };
            plan.push((site, op));
        }
        html::apply_all(&mut doc, &plan).map_err(|e| e.to_string())?;
        Ok(html::serialize(&doc))
    })
    .map_err(pyo3::exceptions::PyValueError::new_err)
}

type RuleTuple = (String, u32, Vec<(String, String, bool)>, bool, bool);
/// (site index, touches, hidden, width, height)
type Resolved = (usize, bool, bool, Option<f64>, Option<f64>);

/// For each image site that `_resolve_visibility` would look at (a load of kind image, not always
/// removed, not CSS, an attribute): (site index, touches, hidden, width, height) from the Rust
/// `Resolver` over `rules` — visibility.py's `_Rule` tuples. Width and height are None unless the
/// element is img/image/input (as in the engine).
#[pyfunction]
fn resolve_images(
    py: Python<'_>,
    html: &str,
    rules: Vec<RuleTuple>,
) -> PyResult<Vec<Resolved>> {
    use html::visibility::{Resolver, Rule};
    py.allow_threads(|| {
        let doc = html::parse(html)?;
        let (sites, _) = html::collect(&doc);
        let rules = rules
            .into_iter()
            .map(|(selector, context, decls, hides_or_shows, hides)| Rule { selector, context, decls, hides_or_shows, hides })
            .collect();
        let mut resolver = Resolver::new(&doc, rules);
        let mut out = Vec::new();
        for (i, s) in sites.iter().enumerate() {
            if !(s.load && s.kind == "image" && s.always.is_none() && s.css.is_none() && s.attr.is_some()) {
                continue;
            }
            let touches = resolver.touches(s.node, s.hidden);
            let tag = doc.element(s.node).map(|e| e.name.local.to_string()).unwrap_or_default();
            let (hidden, w, h) = if matches!(tag.as_str(), "img" | "image" | "input") {
                let px = |n| html::style_px(doc.attr(s.node, n));
                resolver.resolve(s.node, px("width"), px("height"))
            } else {
                let (hidden, _, _) = resolver.resolve(s.node, None, None);
                (hidden, None, None)
            };
            out.push((i, touches, hidden, w, h));
        }
        Ok(out)
    })
}

/// Benchmark helper: parse + collect + serialise, returning (output length, site count).
#[pyfunction]
fn bench_parse_collect_serialize(py: Python<'_>, html: &str) -> PyResult<(usize, usize)> {
    py.allow_threads(|| {
        let doc = html::parse(html)?;
        let (sites, _) = html::collect(&doc);
        Ok((html::serialize(&doc).len(), sites.len()))
    })
}

/// Benchmark helper: one lol_html streaming pass that reads every element's attributes and every
/// comment (what a collect pass over a stream must do), writing the document back out.
#[pyfunction]
fn bench_lol_html_pass(py: Python<'_>, html: &str) -> PyResult<usize> {
    use lol_html::{comments, element, rewrite_str, RewriteStrSettings};
    py.allow_threads(|| {
        let seen = std::cell::Cell::new(0usize);
        let out = rewrite_str(
            html,
            RewriteStrSettings {
                element_content_handlers: vec![
                    element!("*", |el| {
                        for a in el.attributes() {
                            seen.set(seen.get() + a.name().len() + a.value().len());
                        }
                        Ok(())
                    }),
                    comments!("*", |c| {
                        seen.set(seen.get() + c.text().len());
                        Ok(())
                    }),
                ],
                ..RewriteStrSettings::new()
            },
        );
        out.map(|o| o.len() + seen.get())
    })
    .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(collect_sites, m)?)?;
    m.add_function(wrap_pyfunction!(reserialize, m)?)?;
    m.add_function(wrap_pyfunction!(link_texts, m)?)?;
    m.add_function(wrap_pyfunction!(rewrite_sites, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_images, m)?)?;
    m.add_function(wrap_pyfunction!(bench_parse_collect_serialize, m)?)?;
    m.add_function(wrap_pyfunction!(bench_lol_html_pass, m)?)?;
    Ok(())
}
