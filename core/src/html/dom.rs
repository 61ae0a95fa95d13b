//! An arena DOM: every node in one `Vec`, linked by indices. Built by html5ever (`parse`), walked
//! by `collect`, edited by `rewrite`, written by `serialize`. No reference counting, no `unsafe`:
//! a node is a `NodeId`, and a removed node is simply unlinked (its slot stays, unreachable).
use std::fmt;
use std::num::NonZeroU32;

use html5ever::{local_name, ns, Attribute, LocalName, QualName};
use html5ever::tendril::StrTendril;

/// A node's slot in the arena, kept as slot + 1 in a `NonZeroU32`: an `Option<NodeId>` link is then
/// 4 bytes, not the 16 of an `Option<usize>` (five links a node; a dense 16 MB body has millions).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(NonZeroU32);

impl NodeId {
    /// The most nodes a document can hold: one per id.
    pub const MAX_NODES: usize = u32::MAX as usize;

    /// The id of arena slot `index` (None past `MAX_NODES`).
    fn from_index(index: usize) -> Option<NodeId> {
        let i = u32::try_from(index).ok().filter(|&i| i < u32::MAX)?;
        Some(NodeId(NonZeroU32::MIN.saturating_add(i)))
    }

    /// The node's slot in the arena.
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.index())
    }
}

/// The document node is always the first slot.
pub const DOCUMENT: NodeId = NodeId(NonZeroU32::MIN);

/// A document needs more than it may have. It is not cleaned but shown as text
/// (`clean_document`). Only hostile markup gets near either limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// More nodes than its limit (`NodeId::MAX_NODES`) or, while parsing, more than its budget
    /// (`parse::budget`): html5ever's re-opening of formatting elements can make many nodes per
    /// input byte.
    Nodes,
    /// Elements nested deeper than `parse::MAX_DEPTH`: the tree builder's searches of its open
    /// elements grow with the depth, so deep nesting makes its work quadratic.
    Depth,
    /// Matching the sheets' selectors against the images and their ancestors would cost more than
    /// `visibility::matching_budget`.
    Selectors,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exceeded::Nodes => write!(f, "the HTML document has too many nodes"),
            Exceeded::Depth => write!(f, "the HTML document nests elements too deeply"),
            Exceeded::Selectors => write!(f, "the HTML document's CSS selectors take too long to match"),
        }
    }
}

impl std::error::Error for Exceeded {}

#[derive(Debug)]
pub enum NodeData {
    Document,
    /// A `<template>`'s contents: a fragment outside the main tree (as in browsers and lexbor).
    Fragment,
    Doctype { name: StrTendril },
    Text(StrTendril),
    Comment(StrTendril),
    Element(Element),
}

#[derive(Debug)]
pub struct Element {
    pub name: QualName,
    pub attrs: Vec<Attribute>,
    pub template_contents: Option<NodeId>,
    pub mathml_annotation_xml_integration_point: bool,
}

#[derive(Debug)]
pub struct Node {
    pub parent: Option<NodeId>,
    pub prev: Option<NodeId>,
    pub next: Option<NodeId>,
    pub first_child: Option<NodeId>,
    pub last_child: Option<NodeId>,
    pub data: NodeData,
}

impl Node {
    fn new(data: NodeData) -> Node {
        Node { parent: None, prev: None, next: None, first_child: None, last_child: None, data }
    }
}

/// The attribute's name as a document spells it after parsing (`xlink:href`, `viewBox`, `v:fill`).
pub fn attr_name(a: &Attribute) -> std::borrow::Cow<'_, str> {
    match &a.name.prefix {
        Some(p) => std::borrow::Cow::Owned(format!("{}:{}", &**p, &*a.name.local)),
        None => std::borrow::Cow::Borrowed(&*a.name.local),
    }
}

#[derive(Debug)]
pub struct Document {
    nodes: Vec<Node>,
    /// The parser was in quirks mode (no doctype, or a doctype that asks for it).
    pub quirks: bool,
    /// `add` fails at this many nodes (`NodeId::MAX_NODES`; tests set less).
    limit: usize,
}

impl Default for Document {
    fn default() -> Self {
        Self::new()
    }
}

impl Document {
    pub fn new() -> Document {
        Document::with_capacity(1)
    }

    /// A document expecting about `nodes` nodes (the parser sizes it from the input's length).
    pub fn with_capacity(nodes: usize) -> Document {
        Document::with_limit(nodes, NodeId::MAX_NODES)
    }

    /// `with_capacity` with a lower node limit than `NodeId::MAX_NODES` (at least the document node).
    pub fn with_limit(nodes: usize, limit: usize) -> Document {
        let mut v = Vec::with_capacity(nodes.clamp(1, limit.max(1)));
        v.push(Node::new(NodeData::Document));
        Document { nodes: v, quirks: false, limit: limit.clamp(1, NodeId::MAX_NODES) }
    }

    /// A new, unlinked node; fails when the document already holds its limit of nodes.
    pub fn add(&mut self, data: NodeData) -> Result<NodeId, Exceeded> {
        if self.nodes.len() >= self.limit {
            return Err(Exceeded::Nodes);
        }
        let id = NodeId::from_index(self.nodes.len()).ok_or(Exceeded::Nodes)?;
        self.nodes.push(Node::new(data));
        Ok(id)
    }

    /// How many nodes the arena holds (unlinked ones too).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.index()]
    }

    /// The node's content, to change in place (the links stay `Document`'s to keep consistent).
    pub fn data_mut(&mut self, id: NodeId) -> &mut NodeData {
        &mut self.node_mut(id).data
    }

    pub fn element(&self, id: NodeId) -> Option<&Element> {
        match &self.node(id).data {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    pub fn element_mut(&mut self, id: NodeId) -> Option<&mut Element> {
        match &mut self.node_mut(id).data {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The element's local name when it is an HTML element ("" otherwise).
    pub fn html_name(&self, id: NodeId) -> Option<&LocalName> {
        match &self.node(id).data {
            NodeData::Element(e) if e.name.ns == ns!(html) => Some(&e.name.local),
            _ => None,
        }
    }

    pub fn is_html(&self, id: NodeId, local: &LocalName) -> bool {
        self.html_name(id) == Some(local)
    }

    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children { doc: self, next: self.node(id).first_child }
    }

    /// The node's parent, its parent's parent, and so on up to the document.
    pub fn ancestors(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.node(id).parent, move |&p| self.node(p).parent)
    }

    /// Unlink a node from its parent and siblings (the subtree stays whole, just unreachable).
    pub fn detach(&mut self, id: NodeId) {
        let (parent, prev, next) = {
            let n = self.node(id);
            (n.parent, n.prev, n.next)
        };
        if let Some(p) = prev {
            self.node_mut(p).next = next;
        } else if let Some(par) = parent {
            self.node_mut(par).first_child = next;
        }
        if let Some(nx) = next {
            self.node_mut(nx).prev = prev;
        } else if let Some(par) = parent {
            self.node_mut(par).last_child = prev;
        }
        let n = self.node_mut(id);
        n.parent = None;
        n.prev = None;
        n.next = None;
    }

    pub fn append(&mut self, parent: NodeId, child: NodeId) {
        self.detach(child);
        let last = self.node(parent).last_child;
        self.node_mut(child).parent = Some(parent);
        self.node_mut(child).prev = last;
        if let Some(l) = last {
            self.node_mut(l).next = Some(child);
        } else {
            self.node_mut(parent).first_child = Some(child);
        }
        self.node_mut(parent).last_child = Some(child);
    }

    pub fn insert_before(&mut self, sibling: NodeId, child: NodeId) {
        self.detach(child);
        let (parent, prev) = (self.node(sibling).parent, self.node(sibling).prev);
        self.node_mut(child).parent = parent;
        self.node_mut(child).prev = prev;
        self.node_mut(child).next = Some(sibling);
        self.node_mut(sibling).prev = Some(child);
        match prev {
            Some(p) => self.node_mut(p).next = Some(child),
            None => {
                if let Some(par) = parent {
                    self.node_mut(par).first_child = Some(child);
                }
            }
        }
    }

    /// Append text, merging with a text node already last (as a parser must).
    pub fn append_text(&mut self, parent: NodeId, text: &str) -> Result<(), Exceeded> {
        self.append_tendril(parent, StrTendril::from_slice(text))
    }

    /// `append_text` of the parser's own tendril: a new text node shares its buffer, not a copy.
    pub fn append_tendril(&mut self, parent: NodeId, text: StrTendril) -> Result<(), Exceeded> {
        if let Some(last) = self.node(parent).last_child {
            if let NodeData::Text(t) = &mut self.node_mut(last).data {
                t.push_tendril(&text);
                return Ok(());
            }
        }
        let id = self.add(NodeData::Text(text))?;
        self.append(parent, id);
        Ok(())
    }

    /// Insert text before `sibling`, merging with a text node just before it.
    pub fn insert_text_before(&mut self, sibling: NodeId, text: StrTendril) -> Result<(), Exceeded> {
        if let Some(prev) = self.node(sibling).prev {
            if let NodeData::Text(t) = &mut self.node_mut(prev).data {
                t.push_tendril(&text);
                return Ok(());
            }
        }
        let id = self.add(NodeData::Text(text))?;
        self.insert_before(sibling, id);
        Ok(())
    }

    /// The value of an attribute by its parsed name (`src`, `xlink:href`).
    pub fn attr<'a>(&'a self, id: NodeId, name: &str) -> Option<&'a str> {
        let e = self.element(id)?;
        e.attrs.iter().find(|a| attr_name(a) == name).map(|a| &*a.value)
    }

    /// The text of a node's subtree (text nodes only, in document order), optionally joined by `sep`.
    pub fn text_content(&self, id: NodeId, sep: &str) -> String {
        let mut out = String::new();
        let mut first = true;
        self.for_each_descendant(id, &mut |nid| {
            if let NodeData::Text(t) = &self.node(nid).data {
                if !first {
                    out.push_str(sep);
                }
                first = false;
                out.push_str(t);
            }
        });
        out
    }

    /// Every descendant of `id` (not `id` itself) in document order; no recursion (deep trees).
    pub fn for_each_descendant(&self, id: NodeId, f: &mut dyn FnMut(NodeId)) {
        let mut cur = self.node(id).first_child;
        while let Some(n) = cur {
            f(n);
            if let Some(c) = self.node(n).first_child {
                cur = Some(c);
                continue;
            }
            let mut up = n;
            cur = None;
            while up != id {
                if let Some(nx) = self.node(up).next {
                    cur = Some(nx);
                    break;
                }
                match self.node(up).parent {
                    Some(p) => up = p,
                    None => break,
                }
            }
        }
    }
}

pub struct Children<'a> {
    doc: &'a Document,
    next: Option<NodeId>,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let cur = self.next?;
        self.next = self.doc.node(cur).next;
        Some(cur)
    }
}

/// Elements whose text a serialiser writes raw (scripting disabled, as we parse: not `<noscript>`).
pub fn is_raw_text(name: &QualName) -> bool {
    name.ns == ns!(html)
        && matches!(
            name.local,
            local_name!("style")
                | local_name!("script")
                | local_name!("xmp")
                | local_name!("iframe")
                | local_name!("noembed")
                | local_name!("noframes")
                | local_name!("plaintext")
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A link is 4 bytes, so five are 20: a node (links and data) fits in 80 bytes, not 152.
    #[test]
    fn nodes_are_small() {
        assert_eq!(std::mem::size_of::<Option<NodeId>>(), 4);
        assert!(std::mem::size_of::<Node>() <= 80, "{} bytes", std::mem::size_of::<Node>());
    }

    /// Every u32 is an id: slots 0 to u32::MAX - 1, and none past them.
    #[test]
    fn ids_span_u32() {
        assert_eq!(NodeId::from_index(0), Some(DOCUMENT));
        assert_eq!(DOCUMENT.index(), 0);
        let last = NodeId::from_index(NodeId::MAX_NODES - 1).unwrap();
        assert_eq!(last.index(), u32::MAX as usize - 1);
        assert!(last > DOCUMENT);
        assert_eq!(NodeId::from_index(NodeId::MAX_NODES), None);
        assert_eq!(NodeId::from_index(usize::MAX), None);
    }

    /// At its limit a document adds no node (text merging into a text node still works) and is
    /// left as it was.
    #[test]
    fn add_fails_at_the_limit() {
        let mut doc = Document::with_limit(0, 3);
        let p = doc.add(NodeData::Fragment).unwrap();
        doc.append(DOCUMENT, p);
        doc.append_text(p, "a").unwrap();
        assert_eq!(doc.add(NodeData::Fragment).err(), Some(Exceeded::Nodes));
        doc.append_text(p, "b").unwrap();
        assert_eq!(doc.append_text(DOCUMENT, "c").err(), Some(Exceeded::Nodes));
        assert_eq!(doc.insert_text_before(p, StrTendril::from_slice("d")).err(), Some(Exceeded::Nodes));
        assert_eq!(doc.node_count(), 3);
        assert_eq!(doc.text_content(DOCUMENT, "|"), "ab");
        assert_eq!(doc.children(DOCUMENT).collect::<Vec<_>>(), vec![p]);
    }
}
