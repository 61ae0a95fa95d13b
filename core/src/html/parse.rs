//! html5ever's tree builder writing into the arena `Document` (a `TreeSink` over indices).
//!
//! A budget bounds what the tree builder may make: html5ever re-opens every open formatting
//! element after each paragraph, so hostile markup makes nodes in proportion to its length
//! squared (37 KB of it, four million nodes and a gigabyte). The budget is proportional to the
//! input's length, and the parse stops the moment it is spent (`Sink::stop`). So does a parse
//! that nests elements deeper than `MAX_DEPTH`: the tree builder searches its open elements and
//! its list of formatting elements (comparing attributes) once a tag, so deep nesting makes its
//! work quadratic too (2 MB of nested `<b id=N>` took three minutes).
use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::LazyLock;

use html5ever::tokenizer::TokenSink;
use html5ever::tree_builder::{TreeBuilder, TreeBuilderOpts};
use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_document, Attribute, ParseOpts, QualName};
use rustc_hash::{FxHashMap, FxHashSet};

use super::dom::{Document, Element, NodeData, NodeId, Exceeded, DOCUMENT};
use super::tokenize::{self, Declined};

/// What a parse may make, in units of one per element, comment or doctype and one per attribute
/// of an element: a fixed allowance and one unit per input byte. Honest mail needs at most a tenth
/// of a unit per byte (0.094 at most, 0.05 the median, over the 775 test and benchmark bodies);
/// only re-opened formatting elements, the quadratic case, come near.
pub fn budget(input_len: usize) -> usize {
    65_536 + input_len
}

/// How deep elements may nest (Chromium's parser stops nesting at the same depth). Honest mail
/// nests 22 deep at most over the test and benchmark bodies; a long thread quoted reply in reply
/// adds a few levels a message.
pub const MAX_DEPTH: usize = 512;

pub(super) struct Sink {
    doc: RefCell<Document>,
    /// Units the tree builder may still spend on new nodes (`budget`).
    left: Cell<usize>,
    /// Each element's depth by node index, set when it is placed (missing entries are 0); a
    /// template's contents hold `IN_TEMPLATE` and sit at their template's depth (`templates`).
    depths: RefCell<Vec<u16>>,
    /// Every template made, by its contents.
    templates: RefCell<FxHashMap<NodeId, NodeId>>,
}

/// The depth entry of a template's contents: look up the template's.
const IN_TEMPLATE: u16 = u16::MAX;

/// Returned by `elem_name` for a non-element (the tree builder never asks, but must get an answer).
static NO_NAME: LazyLock<QualName> = LazyLock::new(|| QualName::new(None, ns!(), local_name!("")));

impl Sink {
    /// A sink for an input of `len` bytes, making at most `limit` nodes from `units` (`budget`).
    pub(super) fn new(len: usize, limit: usize, units: usize) -> Sink {
        // About one node per 40 bytes of mail HTML: one allocation instead of a dozen regrowths.
        let doc = Document::with_limit(len / 40, limit);
        let depths = RefCell::new(Vec::with_capacity(len / 40));
        Sink { doc: RefCell::new(doc), left: Cell::new(units), depths, templates: RefCell::default() }
    }

    /// A new node in the arena, paid for from the budget.
    #[inline]
    fn create(&self, data: NodeData, cost: usize) -> NodeId {
        let Some(left) = self.left.get().checked_sub(cost) else { Self::stop(Exceeded::Nodes) };
        self.left.set(left);
        let added = self.doc.borrow_mut().add(data);
        added.unwrap_or_else(|e| Self::stop(e))
    }

    /// Stop the parse: the document needs more than it may have. html5ever has no way to stop a
    /// tree builder, and one left running on hostile markup does the quadratic work this guards
    /// against, so the sink unwinds out of it (`resume_unwind`, which runs no panic hook and prints
    /// nothing) to `parse_within`, which drops the builder with its half-built tree. No `RefCell`
    /// borrow is held across the call.
    #[cold]
    #[inline(never)]
    fn stop(why: Exceeded) -> ! {
        panic::resume_unwind(Box::new(why))
    }

    fn depth(&self, id: NodeId) -> usize {
        match self.depths.borrow().get(id.index()) {
            Some(&IN_TEMPLATE) => self.template_depth(id),
            d => d.map_or(0, |&d| d as usize),
        }
    }

    #[cold]
    fn template_depth(&self, contents: NodeId) -> usize {
        let template = self.templates.borrow().get(&contents).copied();
        template.map_or(0, |t| self.depth(t))
    }

    /// Record that `node` now sits at `depth`; stop past `MAX_DEPTH`.
    #[inline]
    fn set_depth(&self, node: NodeId, depth: usize) {
        if depth > MAX_DEPTH {
            Self::stop(Exceeded::Depth);
        }
        self.mark(node, depth as u16);
    }

    #[inline]
    fn mark(&self, node: NodeId, entry: u16) {
        let mut depths = self.depths.borrow_mut();
        if depths.len() <= node.index() {
            depths.resize(node.index() + 1, 0);
        }
        depths[node.index()] = entry;
    }

    /// Append `child` to `at`, or (`before`) insert it before `at`; text merges with a text node
    /// there, or needs a new node (text nodes are not charged: there are no more than input bytes).
    fn place(&self, at: NodeId, child: NodeOrText<NodeId>, before: bool) {
        if let NodeOrText::AppendNode(n) = child {
            self.set_depth(n, self.depth(at) + usize::from(!before));
        }
        let placed = {
            let mut doc = self.doc.borrow_mut();
            match child {
                NodeOrText::AppendNode(n) if before => {
                    doc.insert_before(at, n);
                    Ok(())
                }
                NodeOrText::AppendNode(n) => {
                    doc.append(at, n);
                    Ok(())
                }
                NodeOrText::AppendText(t) if before => doc.insert_text_before(at, t),
                NodeOrText::AppendText(t) => doc.append_tendril(at, t),
            }
        };
        placed.unwrap_or_else(|e| Self::stop(e))
    }
}

impl TreeSink for Sink {
    type Handle = NodeId;
    type Output = Document;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Document {
        self.doc.into_inner()
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> NodeId {
        DOCUMENT
    }

    #[inline]
    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Ref<'a, QualName> {
        Ref::map(self.doc.borrow(), |d| match &d.node(*target).data {
            NodeData::Element(e) => &e.name,
            _ => &NO_NAME,
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        let template_contents = flags.template.then(|| self.create(NodeData::Fragment, 1));
        let cost = 1 + attrs.len();
        let element = self.create(
            NodeData::Element(Element {
                name,
                attrs,
                template_contents,
                mathml_annotation_xml_integration_point: flags.mathml_annotation_xml_integration_point,
            }),
            cost,
        );
        if let Some(contents) = template_contents {
            self.templates.borrow_mut().insert(contents, element);
            self.mark(contents, IN_TEMPLATE);
        }
        element
    }

    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.create(NodeData::Comment(text), 1)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        // Only XML has processing instructions; HTML reads <?…> as a bogus comment. Kept as one.
        let mut text = StrTendril::from_slice("?");
        text.push_tendril(&target);
        text.push_char(' ');
        text.push_tendril(&data);
        self.create(NodeData::Comment(text), 1)
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        self.place(*parent, child, false)
    }

    fn append_based_on_parent_node(&self, element: &NodeId, prev_element: &NodeId, child: NodeOrText<NodeId>) {
        let has_parent = self.doc.borrow().node(*element).parent.is_some();
        if has_parent {
            self.append_before_sibling(element, child)
        } else {
            self.place(*prev_element, child, false)
        }
    }

    fn append_doctype_to_document(&self, name: StrTendril, _public_id: StrTendril, _system_id: StrTendril) {
        let doctype = self.create(NodeData::Doctype { name }, 1);
        self.place(DOCUMENT, NodeOrText::AppendNode(doctype), false);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        self.doc.borrow().element(*target).and_then(|e| e.template_contents).unwrap_or(*target)
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.doc.borrow_mut().quirks = mode == QuirksMode::Quirks;
    }

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        self.place(*sibling, new_node, true)
    }

    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        let mut doc = self.doc.borrow_mut();
        if let Some(e) = doc.element_mut(*target) {
            // A set, not a search of the list per attribute: a second `<html>` or `<body>` may
            // bring thousands (it is rare, so the set costs nothing that matters).
            let mut have: FxHashSet<QualName> = e.attrs.iter().map(|b| b.name.clone()).collect();
            e.attrs.extend(attrs.into_iter().filter(|a| have.insert(a.name.clone())));
        }
    }

    fn remove_from_parent(&self, target: &NodeId) {
        self.doc.borrow_mut().detach(*target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        let depth = self.depth(*new_parent) + 1;
        loop {
            let first = self.doc.borrow().node(*node).first_child;
            let Some(c) = first else { break };
            self.set_depth(c, depth);
            self.doc.borrow_mut().append(*new_parent, c);
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.doc.borrow().element(*handle).is_some_and(|e| e.mathml_annotation_xml_integration_point)
    }
}

/// Which tokenizer feeds html5ever's tree builder: ours (`tokenize`, which declines what it was
/// not written for to html5ever's) or only html5ever's. The tree is the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokens {
    Ours,
    Html5ever,
}

/// Parse a whole HTML document as lexbor does for the Python engine: with scripting disabled, so
/// `<noscript>` content is markup (its loads are found and judged, and the element is unwrapped).
/// Fails when the document needs more than its `budget` (or more than `NodeId::MAX_NODES` nodes).
pub fn parse(html: &str) -> Result<Document, Exceeded> {
    parse_using(html, Tokens::Ours)
}

/// `parse`, with the tokens read by `tokens`.
pub fn parse_using(html: &str, tokens: Tokens) -> Result<Document, Exceeded> {
    #[cfg(test)]
    let (limit, units) = (TEST_LIMIT.with(Cell::get), TEST_BUDGET.with(Cell::get).unwrap_or(budget(html.len())));
    #[cfg(not(test))]
    let (limit, units) = (NodeId::MAX_NODES, budget(html.len()));
    parse_within(html, limit, units, tokens)
}

#[cfg(test)]
thread_local! {
    /// The node limit `parse` applies in this test thread: lowered, the engine reaches it on a small document.
    pub static TEST_LIMIT: Cell<usize> = const { Cell::new(NodeId::MAX_NODES) };
    /// The budget `parse` applies in this test thread, when set.
    pub static TEST_BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// `parse` into a document of at most `limit` nodes, spending at most `units` (`budget`).
pub(crate) fn parse_within(html: &str, limit: usize, units: usize, tokens: Tokens) -> Result<Document, Exceeded> {
    let sink = || Sink::new(html.len(), limit, units);
    let opts = ParseOpts { tree_builder: builder_options(), ..Default::default() };
    let both = || {
        if tokens == Tokens::Ours {
            if let Ok(doc) = fast(html, sink()) {
                return doc;
            }
        }
        parse_document(sink(), opts).one(html)
    };
    // Only `Sink::stop`'s unwinding is caught here; any other panic goes on (to PyO3's boundary).
    match panic::catch_unwind(AssertUnwindSafe(both)) {
        Ok(doc) => Ok(doc),
        Err(payload) if payload.is::<Exceeded>() => Err(*payload.downcast::<Exceeded>().expect("checked")),
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// Scripting off, as lexbor parsed for the Python engine: `<noscript>` content is markup.
pub(super) fn builder_options() -> TreeBuilderOpts {
    TreeBuilderOpts { scripting_enabled: false, ..Default::default() }
}

/// The tree builder fed by `tokenize` (the same tree, a few times faster), or `Declined`.
fn fast(html: &str, sink: Sink) -> Result<Document, Declined> {
    let input = tokenize::prepare(html)?;
    let builder = TreeBuilder::new(sink, builder_options());
    tokenize::run(&input, &builder)?;
    builder.end();
    Ok(builder.sink.finish())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::html::serialize;

    /// Markup that makes the tree builder use every `TreeSink` call: doctype, comments and a
    /// processing instruction; foster parenting (text and elements before a table's sibling); the
    /// adoption agency (reparenting, removal); formatting elements reopened; templates, nested;
    /// MathML integration points and SVG; attributes merged onto `<html>`/`<body>`; raw text.
    pub(in crate::html) const TRICKY: &[&str] = &[
        "<!DOCTYPE html><title>t</title><p>a<!--c--><?pi x?>b",
        "<table><tr><td>x</td></tr>foster<b>bold</b><div>d</div>text</table>after",
        "<b><i><p>adoption</b>agency</i></p><a href=1><div>x<a href=2>y</a></div></a>",
        "<b class=1><i class=2><u class=3><p>x</p><p>y</p></u></i></b><table><b><tr><td>c</td></tr></b></table>",
        "<template><tr><td>t</td></tr></template><template>a<template>b<p>c</template></template><table><template>x</template></table>",
        "<math><annotation-xml encoding='text/html'><p>h</p></annotation-xml><mi>v</mi></math><svg><foreignObject><b>f</b></foreignObject><desc><i>d</i></desc></svg>",
        "<html a=1><body b=2><p>x<html c=3><body d=4 b=5>",
        "<select><option>1<option>2<optgroup>g</select><frameset><frame></frameset><noframes>n</noframes>",
        "<noscript><img src=x></noscript><xmp><i></xmp><textarea>\n<b></textarea><plaintext>rest</p>",
        "<p><b><i><u><s>deep</p>reopened<table><td>cell<p>in</table>",
    ];

    pub(in crate::html) fn vector_files() -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).expect("test vectors").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e.to_str().is_some_and(|e| e.starts_with("htm"))) {
                    out.push(std::fs::read_to_string(&path).expect("vector text"));
                }
            }
        }
        out
    }

    /// At every limit below the nodes a document needs, the parse fails; at or above it, the tree
    /// is the one an unlimited parse builds.
    #[test]
    fn fails_below_the_limit_and_only_there() {
        let vectors = vector_files();
        assert!(vectors.len() > 50, "{} vector files", vectors.len());
        let mut failed = 0;
        for html in TRICKY.iter().copied().chain(vectors.iter().map(String::as_str)) {
            let whole = parse(html).unwrap();
            let (needed, want) = (whole.node_count(), serialize(&whole));
            for limit in 0..=needed + 1 {
                match parse_within(html, limit, usize::MAX, Tokens::Ours) {
                    Ok(doc) => {
                        assert!(limit >= needed, "{limit} < {needed} nodes: {html}");
                        assert_eq!(serialize(&doc), want, "{html}");
                    }
                    Err(e) => {
                        assert_eq!(e, Exceeded::Nodes);
                        assert!(limit < needed, "{limit} >= {needed} nodes: {html}");
                        failed += 1;
                    }
                }
            }
        }
        assert!(failed > 1000, "{failed}");
    }

    /// What a document costs: its elements, comments, doctype and template fragments, and the
    /// attributes its elements were made with (`<html>`/`<body>` may gain more later, free).
    fn cost(doc: &Document) -> (usize, usize) {
        let (mut least, mut most) = (0, 0);
        let mut walk = vec![DOCUMENT];
        while let Some(id) = walk.pop() {
            walk.extend(doc.children(id));
            match &doc.node(id).data {
                NodeData::Document | NodeData::Text(_) => {}
                NodeData::Element(e) => {
                    least += 1;
                    most += 1 + e.attrs.len();
                    walk.extend(e.template_contents);
                }
                _ => {
                    least += 1;
                    most += 1;
                }
            }
        }
        (least, most)
    }

    /// There is one budget below which a document fails and at or above which it parses to the
    /// tree an unlimited parse builds; it lies between the document's nodes and its nodes plus
    /// attributes, so honest markup is never refused for a budget of a unit per byte. The same with
    /// either tokenizer.
    #[test]
    fn fails_below_its_budget_and_only_there() {
        let vectors = vector_files();
        let both = [Tokens::Ours, Tokens::Html5ever];
        for (html, tokens) in TRICKY.iter().copied().chain(vectors.iter().map(String::as_str)).flat_map(|h| both.map(|t| (h, t))) {
            let whole = parse_within(html, NodeId::MAX_NODES, usize::MAX, tokens).unwrap();
            let want = serialize(&whole);
            let (least, most) = cost(&whole);
            assert!(most <= budget(html.len()) && most <= html.len(), "{most} units for {} bytes: {html}", html.len());
            let threshold = (0..=most).find(|&u| parse_within(html, NodeId::MAX_NODES, u, tokens).is_ok());
            let threshold = threshold.unwrap_or_else(|| panic!("fails at {most} units: {html}"));
            assert!(threshold >= least, "{threshold} < {least}: {html}");
            for units in [0, threshold / 2, threshold.saturating_sub(1)] {
                if units < threshold {
                    assert_eq!(parse_within(html, NodeId::MAX_NODES, units, tokens).err(), Some(Exceeded::Nodes), "{units}: {html}");
                }
            }
            for units in [threshold, threshold + 1, most, usize::MAX] {
                assert_eq!(serialize(&parse_within(html, NodeId::MAX_NODES, units, tokens).unwrap()), want, "{units}: {html}");
            }
        }
    }

    /// Attributes of a second `<html>` join the first's, the first's value winning, when there are
    /// thousands as when there are a few.
    #[test]
    fn many_attributes_merge_onto_html_as_few_do() {
        for (n, m) in [(3, 5), (60, 120)] {
            let first: Vec<String> = (0..n).map(|i| format!("a{i}=1")).collect();
            let second: Vec<String> = (n / 2..m).map(|i| format!("a{i}=2")).collect();
            let html = format!("<html {}><body><html {}>", first.join(" "), second.join(" "));
            let out = serialize(&parse(&html).unwrap());
            let want: Vec<String> = (0..m).map(|i| format!("a{i}=\"{}\"", if i < n { 1 } else { 2 })).collect();
            assert!(out.starts_with(&format!("<html {}>", want.join(" "))), "{out}");
        }
    }

    /// Re-opened formatting elements make nodes in proportion to the input's length squared: each
    /// paragraph's end closes every open `<b>`, and its successor's text opens them all again.
    fn reopening(n: usize) -> String {
        let mut html = String::from("<p>");
        html.extend((0..n).map(|i| format!("<b id={i}>")));
        html.push_str(&"x</p><p>".repeat(n));
        html
    }

    /// Why the budget: 4,000 bytes make over 40,000 nodes.
    #[test]
    fn formatting_elements_reopen_quadratically() {
        let html = reopening(200);
        let needed = parse_within(&html, NodeId::MAX_NODES, usize::MAX, Tokens::Ours).unwrap().node_count();
        assert!(needed > 40_000 && html.len() < 4_000, "{needed} nodes from {} bytes", html.len());
        assert_eq!(parse_within(&html, needed / 2, usize::MAX, Tokens::Ours).err(), Some(Exceeded::Nodes));
        assert_eq!(parse_within(&html, NodeId::MAX_NODES, html.len(), Tokens::Ours).err(), Some(Exceeded::Nodes));
    }

    /// 7 KB that would make 160,000 elements, each with an attribute, exceed their budget (the
    /// 37 KB of 2,000 `<b>`, four million nodes and a gigabyte, are refused for their depth).
    #[test]
    fn hostile_reopening_stops_at_the_budget() {
        let html = reopening(400);
        assert!(html.len() < 8_000);
        assert_eq!(parse(&html).err(), Some(Exceeded::Nodes));
        assert_eq!(parse(&reopening(2_000)).err(), Some(Exceeded::Depth));
        // Honest markup of the same length, one closed <b> a paragraph, parses.
        let honest = "<p><b id=1>x</b></p>".repeat(html.len() / 20);
        assert!(parse(&honest).is_ok());
    }

    /// Elements may nest `MAX_DEPTH` deep and no deeper, whether they nest as written, inside a
    /// template's contents, or as the tree builder re-opens them.
    #[test]
    fn nesting_stops_past_max_depth() {
        let nest = |n: usize| "<div>".repeat(n);
        // <html><body> are two levels: 510 <div>s reach 512.
        assert!(parse(&nest(MAX_DEPTH - 2)).is_ok());
        assert_eq!(parse(&nest(MAX_DEPTH - 1)).err(), Some(Exceeded::Depth));
        let template = |n: usize| format!("<template>{}", "<div>".repeat(n));
        let in_template = (0..MAX_DEPTH).take_while(|&n| parse(&template(n)).is_ok()).count();
        assert!(in_template > MAX_DEPTH - 10 && in_template < MAX_DEPTH, "{in_template}");
        // Re-opened: 150 <b>s closed by </p> and opened again inside 400 <div>s (each part alone
        // is within the limit).
        let bs: String = (0..150).map(|i| format!("<b id={i}>")).collect();
        let divs = "<div>".repeat(400);
        assert!(parse(&format!("<p>{bs}</p>{divs}")).is_ok());
        assert_eq!(parse(&format!("<p>{bs}</p>{divs}x")).err(), Some(Exceeded::Depth));
    }
}
