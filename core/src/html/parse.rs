//! html5ever's tree builder writing into the arena `Document` (a `TreeSink` over indices).
use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::sync::LazyLock;

use html5ever::tree_builder::TreeBuilderOpts;
use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_document, Attribute, ParseOpts, QualName};

use super::dom::{Document, Element, NodeData, NodeId, TooManyNodes, DOCUMENT};

/// The tree builder's handle on a node: one in the arena or, once the arena is full, a stand-in
/// (`Spare`) that answers what the builder asks back, so it reads to the end of the input in its
/// usual states (the tree it still edits is dropped); the parse then fails with `TooManyNodes`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Handle {
    Node(NodeId),
    Spare(usize),
}

/// What the tree builder may ask of a node made after the arena filled up.
struct Spare {
    /// None for a comment or doctype (the builder asks only elements' names).
    name: Option<QualName>,
    template_contents: Option<Handle>,
    mathml_annotation_xml_integration_point: bool,
}

struct Sink {
    doc: RefCell<Document>,
    /// A node did not fit: the parse fails.
    full: Cell<bool>,
    spares: RefCell<Vec<Spare>>,
}

/// Returned by `elem_name` for a non-element (the tree builder never asks, but must get an answer).
static NO_NAME: LazyLock<QualName> = LazyLock::new(|| QualName::new(None, ns!(), local_name!("")));

impl Sink {
    /// The arena node behind a handle (none for a stand-in: what the builder does to it is dropped).
    fn live(&self, h: &Handle) -> Option<NodeId> {
        match *h {
            Handle::Node(id) => Some(id),
            Handle::Spare(_) => None,
        }
    }

    /// A new node in the arena, or a stand-in once it is full.
    #[inline]
    fn create(&self, data: NodeData) -> Handle {
        let added = self.doc.borrow_mut().add_within_limit(data);
        match added {
            Ok(id) => Handle::Node(id),
            Err(data) => self.spare(data),
        }
    }

    /// A stand-in for a node the full arena refused (out of line, as `spare_name`: the tree
    /// builder makes nodes and asks names per token).
    #[cold]
    #[inline(never)]
    fn spare(&self, data: NodeData) -> Handle {
        self.full.set(true);
        let (name, mathml_annotation_xml_integration_point) = match data {
            NodeData::Element(e) => (Some(e.name), e.mathml_annotation_xml_integration_point),
            _ => (None, false),
        };
        let mut spares = self.spares.borrow_mut();
        spares.push(Spare { name, template_contents: None, mathml_annotation_xml_integration_point });
        Handle::Spare(spares.len() - 1)
    }

    #[cold]
    #[inline(never)]
    fn spare_name(&self, i: usize) -> Ref<'_, QualName> {
        Ref::map(self.spares.borrow(), |s| s.get(i).and_then(|s| s.name.as_ref()).unwrap_or(&NO_NAME))
    }

    /// Append `child` to `at`, or (`before`) insert it before `at`; text merges with a text node
    /// there, or needs a new node.
    fn place(&self, at: &Handle, child: NodeOrText<Handle>, before: bool) {
        let Some(at) = self.live(at) else { return };
        let mut doc = self.doc.borrow_mut();
        let placed = match child {
            NodeOrText::AppendNode(n) => {
                match self.live(&n) {
                    Some(n) if before => doc.insert_before(at, n),
                    Some(n) => doc.append(at, n),
                    None => {}
                }
                Ok(())
            }
            NodeOrText::AppendText(t) if before => doc.insert_text_before(at, t),
            NodeOrText::AppendText(t) => doc.append_tendril(at, t),
        };
        if placed.is_err() {
            self.full.set(true);
        }
    }
}

impl TreeSink for Sink {
    type Handle = Handle;
    type Output = Result<Document, TooManyNodes>;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Result<Document, TooManyNodes> {
        if self.full.get() {
            return Err(TooManyNodes);
        }
        Ok(self.doc.into_inner())
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> Handle {
        Handle::Node(DOCUMENT)
    }

    #[inline]
    fn elem_name<'a>(&'a self, target: &'a Handle) -> Ref<'a, QualName> {
        match *target {
            Handle::Node(id) => Ref::map(self.doc.borrow(), |d| match &d.node(id).data {
                NodeData::Element(e) => &e.name,
                _ => &NO_NAME,
            }),
            Handle::Spare(i) => self.spare_name(i),
        }
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Handle {
        let contents = flags.template.then(|| self.create(NodeData::Fragment));
        let element = self.create(NodeData::Element(Element {
            name,
            attrs,
            template_contents: contents.and_then(|c| self.live(&c)),
            mathml_annotation_xml_integration_point: flags.mathml_annotation_xml_integration_point,
        }));
        if let Handle::Spare(i) = element {
            if let Some(spare) = self.spares.borrow_mut().get_mut(i) {
                spare.template_contents = contents;
            }
        }
        element
    }

    fn create_comment(&self, text: StrTendril) -> Handle {
        self.create(NodeData::Comment(text))
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Handle {
        // Only XML has processing instructions; HTML reads <?…> as a bogus comment. Kept as one.
        let mut text = StrTendril::from_slice("?");
        text.push_tendril(&target);
        text.push_char(' ');
        text.push_tendril(&data);
        self.create(NodeData::Comment(text))
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        self.place(parent, child, false)
    }

    fn append_based_on_parent_node(&self, element: &Handle, prev_element: &Handle, child: NodeOrText<Handle>) {
        let has_parent = self.live(element).is_some_and(|e| self.doc.borrow().node(e).parent.is_some());
        if has_parent {
            self.append_before_sibling(element, child)
        } else {
            self.place(prev_element, child, false)
        }
    }

    fn append_doctype_to_document(&self, name: StrTendril, _public_id: StrTendril, _system_id: StrTendril) {
        let doctype = self.create(NodeData::Doctype { name });
        if let Some(id) = self.live(&doctype) {
            self.doc.borrow_mut().append(DOCUMENT, id);
        }
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        let contents = match *target {
            Handle::Node(id) => self.doc.borrow().element(id).and_then(|e| e.template_contents).map(Handle::Node),
            Handle::Spare(i) => self.spares.borrow().get(i).and_then(|s| s.template_contents),
        };
        contents.unwrap_or(*target)
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        self.place(sibling, new_node, true)
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        let Some(target) = self.live(target) else { return };
        let mut doc = self.doc.borrow_mut();
        if let Some(e) = doc.element_mut(target) {
            for a in attrs {
                if !e.attrs.iter().any(|b| b.name == a.name) {
                    e.attrs.push(a);
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &Handle) {
        if let Some(target) = self.live(target) {
            self.doc.borrow_mut().detach(target);
        }
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        let (Some(node), Some(new_parent)) = (self.live(node), self.live(new_parent)) else { return };
        let mut doc = self.doc.borrow_mut();
        while let Some(c) = doc.node(node).first_child {
            doc.append(new_parent, c);
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Handle) -> bool {
        match *handle {
            Handle::Node(id) => self.doc.borrow().element(id).is_some_and(|e| e.mathml_annotation_xml_integration_point),
            Handle::Spare(i) => self.spares.borrow().get(i).is_some_and(|s| s.mathml_annotation_xml_integration_point),
        }
    }
}

/// Parse a whole HTML document as lexbor does for the Python engine: with scripting disabled, so
/// `<noscript>` content is markup (its loads are found and judged, and the element is unwrapped).
/// Fails only when the document needs more than `NodeId::MAX_NODES` nodes.
pub fn parse(html: &str) -> Result<Document, TooManyNodes> {
    #[cfg(test)]
    let limit = TEST_LIMIT.with(Cell::get);
    #[cfg(not(test))]
    let limit = NodeId::MAX_NODES;
    parse_within(html, limit)
}

#[cfg(test)]
thread_local! {
    /// The limit `parse` applies in this test thread: lowered, the engine reaches it on a small document.
    pub static TEST_LIMIT: Cell<usize> = const { Cell::new(NodeId::MAX_NODES) };
}

/// `parse` into a document of at most `limit` nodes.
pub(crate) fn parse_within(html: &str, limit: usize) -> Result<Document, TooManyNodes> {
    // About one node per 40 bytes of mail HTML: one allocation instead of a dozen regrowths.
    let doc = Document::with_limit(html.len() / 40, limit);
    let sink = Sink { doc: RefCell::new(doc), full: Cell::new(false), spares: RefCell::new(Vec::new()) };
    let opts = ParseOpts {
        tree_builder: TreeBuilderOpts { scripting_enabled: false, ..Default::default() },
        ..Default::default()
    };
    parse_document(sink, opts).one(html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::serialize;

    /// Markup that makes the tree builder use every `TreeSink` call: doctype, comments and a
    /// processing instruction; foster parenting (text and elements before a table's sibling); the
    /// adoption agency (reparenting, removal); formatting elements reopened; templates, nested;
    /// MathML integration points and SVG; attributes merged onto `<html>`/`<body>`; raw text.
    const TRICKY: &[&str] = &[
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

    fn vector_files() -> Vec<String> {
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

    /// At every limit below the nodes a document needs, the parse fails (and the tree builder, fed
    /// stand-ins from there on, reads to the end without a panic); at or above it, the tree is
    /// the one an unlimited parse builds.
    #[test]
    fn fails_below_the_limit_and_only_there() {
        let vectors = vector_files();
        assert!(vectors.len() > 50, "{} vector files", vectors.len());
        let mut failed = 0;
        for html in TRICKY.iter().copied().chain(vectors.iter().map(String::as_str)) {
            let whole = parse(html).unwrap();
            let (needed, want) = (whole.node_count(), serialize(&whole));
            for limit in 0..=needed + 1 {
                match parse_within(html, limit) {
                    Ok(doc) => {
                        assert!(limit >= needed, "{limit} < {needed} nodes: {html}");
                        assert_eq!(serialize(&doc), want, "{html}");
                    }
                    Err(TooManyNodes) => {
                        assert!(limit < needed, "{limit} >= {needed} nodes: {html}");
                        failed += 1;
                    }
                }
            }
        }
        assert!(failed > 1000, "{failed}");
    }

    /// Why the limit is needed at all: reopened formatting elements make nodes in proportion to
    /// the input's length squared (here 4,000 bytes make over 40,000 nodes): each paragraph's end
    /// closes the 200 `<b>`, and its successor's text opens them all again.
    #[test]
    fn formatting_elements_reopen_quadratically() {
        let mut html = String::from("<p>");
        html.extend((0..200).map(|i| format!("<b id={i}>")));
        html.push_str(&"x</p><p>".repeat(200));
        let needed = parse(&html).unwrap().node_count();
        assert!(needed > 40_000 && html.len() < 4_000, "{needed} nodes from {} bytes", html.len());
        assert_eq!(parse_within(&html, needed / 2).err(), Some(TooManyNodes));
    }
}
