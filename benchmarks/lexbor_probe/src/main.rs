//! lexbor parses (C, through FFI); its tree is copied into the core's arena `Document`. Checks that
//! both parsers give the same serialisation on every body, then times html5ever's parse, lexbor's
//! parse + copy, and lexbor's parse alone. Run: see benchmarks/README.md.
use std::os::raw::{c_int, c_void};
use std::time::Instant;

use _core::html::{self, dom::{Document, Element, NodeData, NodeId, DOCUMENT}};
use html5ever::{ns, Attribute, LocalName, Namespace, QualName};
use html5ever::tendril::StrTendril;

/// lexbor's `lxb_dom_node_t` (lexbor 2.x as vendored by selectolax 1.0.2), read in place.
#[repr(C)]
struct Node {
    events: *mut c_void,
    local_name: usize,
    prefix: usize,
    ns: usize,
    owner: *mut c_void,
    next: *mut Node,
    prev: *mut Node,
    parent: *mut Node,
    first_child: *mut Node,
    last_child: *mut Node,
    user: *mut c_void,
    type_: c_int,
}
#[repr(C)]
struct CharData {
    node: Node,
    data: *const u8,
    length: usize,
}

extern "C" {
    fn lxb_html_document_create() -> *mut c_void;
    fn lxb_html_document_destroy(d: *mut c_void) -> *mut c_void;
    fn lxb_html_document_parse(d: *mut c_void, html: *const u8, size: usize) -> u32;
    fn lxb_dom_element_local_name(el: *mut Node, len: *mut usize) -> *const u8;
    fn lxb_dom_element_first_attribute_noi(el: *mut Node) -> *mut c_void;
    fn lxb_dom_element_next_attribute_noi(a: *mut c_void) -> *mut c_void;
    fn lxb_dom_attr_local_name_noi(a: *mut c_void, len: *mut usize) -> *const u8;
    fn lxb_dom_attr_value_noi(a: *mut c_void, len: *mut usize) -> *const u8;
}

unsafe fn s<'a>(p: *const u8, len: usize) -> &'a str {
    if p.is_null() { "" } else { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p, len)) }
}

const NS_HTML: usize = 2;
const NS_MATH: usize = 3;
const NS_SVG: usize = 4;

/// Copy the children of `n` under `parent`. Enough for the `gen.py` bodies (main checks the two
/// serialisations are equal): no attribute prefixes, `<template>` contents or PIs.
unsafe fn copy(n: *mut Node, parent: NodeId, doc: &mut Document) {
    let mut c = (*n).first_child;
    while !c.is_null() {
        match (*c).type_ {
            1 => {
                let mut len = 0;
                let local = s(lxb_dom_element_local_name(c, &mut len), len);
                let nsv: Namespace = match (*c).ns { NS_HTML => ns!(html), NS_SVG => ns!(svg), NS_MATH => ns!(mathml), _ => ns!() };
                let mut attrs = Vec::new();
                let mut a = lxb_dom_element_first_attribute_noi(c);
                while !a.is_null() {
                    let (mut l1, mut l2) = (0, 0);
                    let name = s(lxb_dom_attr_local_name_noi(a, &mut l1), l1);
                    let value = s(lxb_dom_attr_value_noi(a, &mut l2), l2);
                    attrs.push(Attribute { name: QualName::new(None, ns!(), LocalName::from(name)), value: StrTendril::from_slice(value) });
                    a = lxb_dom_element_next_attribute_noi(a);
                }
                let id = doc.add(NodeData::Element(Element { name: QualName::new(None, nsv, LocalName::from(local)), attrs,
                    template_contents: None, mathml_annotation_xml_integration_point: false }));
                doc.append(parent, id);
                copy(c, id, doc);
            }
            3 => {
                let t = c as *mut CharData;
                doc.append_text(parent, s((*t).data, (*t).length));
            }
            8 => {
                let t = c as *mut CharData;
                let id = doc.add(NodeData::Comment(StrTendril::from_slice(s((*t).data, (*t).length))));
                doc.append(parent, id);
            }
            10 => {
                let id = doc.add(NodeData::Doctype { name: StrTendril::from_slice("html") });
                doc.append(parent, id);
            }
            _ => {}
        }
        c = (*c).next;
    }
}

fn lex_parse(html: &str) -> Document {
    unsafe {
        let d = lxb_html_document_create();
        lxb_html_document_parse(d, html.as_ptr(), html.len());
        let mut doc = Document::with_capacity(html.len() / 40);
        copy(d as *mut Node, DOCUMENT, &mut doc);
        lxb_html_document_destroy(d);
        doc
    }
}

fn lex_parse_only(html: &str) -> usize {
    unsafe {
        let d = lxb_html_document_create();
        lxb_html_document_parse(d, html.as_ptr(), html.len());
        lxb_html_document_destroy(d);
        1
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let docs: Vec<String> = paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    let mut same = 0;
    for d in &docs {
        let a = html::serialize(&html::parse(d));
        let b = html::serialize(&lex_parse(d));
        if a == b { same += 1 } else {
            let i = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
            eprintln!("differs at {i}: {:?} vs {:?}", &a[i.saturating_sub(60)..(i + 60).min(a.len())], &b[i.saturating_sub(60)..(i + 60).min(b.len())]);
        }
    }
    println!("{same} of {} serialise the same", docs.len());
    let (mut t5, mut tl, mut tlo) = (vec![], vec![], vec![]);
    let mut n = 0;
    for _ in 0..20 {
        for d in &docs {
            let t0 = Instant::now();
            n += html::parse(d).nodes.len();
            let t1 = Instant::now();
            n += lex_parse(d).nodes.len();
            let t2 = Instant::now();
            n += lex_parse_only(d);
            let t3 = Instant::now();
            t5.push((t1 - t0).as_secs_f64()); tl.push((t2 - t1).as_secs_f64()); tlo.push((t3 - t2).as_secs_f64());
        }
    }
    let med = |v: &mut Vec<f64>| { v.sort_by(|a, b| a.total_cmp(b)); v[v.len() / 2] * 1e3 };
    println!("html5ever parse {:.3} ms, lexbor parse+copy {:.3} ms, lexbor parse only {:.3} ms [{n}]", med(&mut t5), med(&mut tl), med(&mut tlo));
}
