//! html5ever's tree builder writing into the arena `Document` (a `TreeSink` over indices).
use std::borrow::Cow;
use std::cell::{Ref, RefCell};
use std::sync::LazyLock;

use html5ever::tree_builder::TreeBuilderOpts;
use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, parse_document, Attribute, ParseOpts, QualName};

use super::dom::{Document, Element, NodeData, NodeId, DOCUMENT};

struct Sink {
    doc: RefCell<Document>,
}

/// Returned by `elem_name` for a non-element (the tree builder never asks, but must get an answer).
static NO_NAME: LazyLock<QualName> = LazyLock::new(|| QualName::new(None, ns!(), local_name!("")));

impl Sink {
    fn insert(&self, parent: NodeId, child: NodeOrText<NodeId>) {
        let mut doc = self.doc.borrow_mut();
        match child {
            NodeOrText::AppendNode(n) => doc.append(parent, n),
            NodeOrText::AppendText(t) => doc.append_tendril(parent, t),
        }
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

    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Ref<'a, QualName> {
        Ref::map(self.doc.borrow(), |d| match &d.nodes[*target].data {
            NodeData::Element(e) => &e.name,
            _ => &NO_NAME,
        })
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        let mut doc = self.doc.borrow_mut();
        let template_contents = if flags.template { Some(doc.add(NodeData::Fragment)) } else { None };
        doc.add(NodeData::Element(Element {
            name,
            attrs,
            template_contents,
            mathml_annotation_xml_integration_point: flags.mathml_annotation_xml_integration_point,
        }))
    }

    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.doc.borrow_mut().add(NodeData::Comment(text))
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        // Only XML has processing instructions; HTML reads <?…> as a bogus comment. Kept as one.
        let mut text = StrTendril::from_slice("?");
        text.push_tendril(&target);
        text.push_char(' ');
        text.push_tendril(&data);
        self.doc.borrow_mut().add(NodeData::Comment(text))
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        self.insert(*parent, child)
    }

    fn append_based_on_parent_node(&self, element: &NodeId, prev_element: &NodeId, child: NodeOrText<NodeId>) {
        let has_parent = self.doc.borrow().nodes[*element].parent.is_some();
        if has_parent {
            self.append_before_sibling(element, child)
        } else {
            self.insert(*prev_element, child)
        }
    }

    fn append_doctype_to_document(&self, name: StrTendril, _public_id: StrTendril, _system_id: StrTendril) {
        let mut doc = self.doc.borrow_mut();
        let id = doc.add(NodeData::Doctype { name });
        doc.append(DOCUMENT, id);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        self.doc.borrow().element(*target).and_then(|e| e.template_contents).unwrap_or(*target)
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        let mut doc = self.doc.borrow_mut();
        match new_node {
            NodeOrText::AppendNode(n) => doc.insert_before(*sibling, n),
            NodeOrText::AppendText(t) => doc.insert_text_before(*sibling, t),
        }
    }

    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        let mut doc = self.doc.borrow_mut();
        if let Some(e) = doc.element_mut(*target) {
            for a in attrs {
                if !e.attrs.iter().any(|b| b.name == a.name) {
                    e.attrs.push(a);
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &NodeId) {
        self.doc.borrow_mut().detach(*target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        let mut doc = self.doc.borrow_mut();
        while let Some(c) = doc.nodes[*node].first_child {
            doc.append(*new_parent, c);
        }
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.doc.borrow().element(*handle).is_some_and(|e| e.mathml_annotation_xml_integration_point)
    }
}

/// Parse a whole HTML document as lexbor does for the Python engine: with scripting disabled, so
/// `<noscript>` content is markup (its loads are found and judged, and the element is unwrapped).
pub fn parse(html: &str) -> Document {
    // About one node per 40 bytes of mail HTML: one allocation instead of a dozen regrowths.
    let sink = Sink { doc: RefCell::new(Document::with_capacity(html.len() / 40)) };
    let opts = ParseOpts {
        tree_builder: TreeBuilderOpts { scripting_enabled: false, ..Default::default() },
        ..Default::default()
    };
    parse_document(sink, opts).one(html)
}
