//! An arena DOM: every node in one `Vec`, linked by indices. Built by html5ever (`parse`), walked
//! by `collect`, edited by `rewrite`, written by `serialize`. No reference counting, no `unsafe`:
//! a node is a `NodeId`, and a removed node is simply unlinked (its slot stays, unreachable).
use html5ever::{local_name, ns, Attribute, LocalName, QualName};
use html5ever::tendril::StrTendril;

pub type NodeId = usize;

/// The document node is always the first slot.
pub const DOCUMENT: NodeId = 0;

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
    pub nodes: Vec<Node>,
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
        let mut v = Vec::with_capacity(nodes.max(1));
        v.push(Node::new(NodeData::Document));
        Document { nodes: v }
    }

    pub fn add(&mut self, data: NodeData) -> NodeId {
        self.nodes.push(Node::new(data));
        self.nodes.len() - 1
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn element(&self, id: NodeId) -> Option<&Element> {
        match &self.nodes[id].data {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    pub fn element_mut(&mut self, id: NodeId) -> Option<&mut Element> {
        match &mut self.nodes[id].data {
            NodeData::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The element's local name when it is an HTML element ("" otherwise).
    pub fn html_name(&self, id: NodeId) -> Option<&LocalName> {
        match &self.nodes[id].data {
            NodeData::Element(e) if e.name.ns == ns!(html) => Some(&e.name.local),
            _ => None,
        }
    }

    pub fn is_html(&self, id: NodeId, local: &LocalName) -> bool {
        self.html_name(id) == Some(local)
    }

    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children { doc: self, next: self.nodes[id].first_child }
    }

    /// Unlink a node from its parent and siblings (the subtree stays whole, just unreachable).
    pub fn detach(&mut self, id: NodeId) {
        let (parent, prev, next) = {
            let n = &self.nodes[id];
            (n.parent, n.prev, n.next)
        };
        if let Some(p) = prev {
            self.nodes[p].next = next;
        } else if let Some(par) = parent {
            self.nodes[par].first_child = next;
        }
        if let Some(nx) = next {
            self.nodes[nx].prev = prev;
        } else if let Some(par) = parent {
            self.nodes[par].last_child = prev;
        }
        let n = &mut self.nodes[id];
        n.parent = None;
        n.prev = None;
        n.next = None;
    }

    pub fn append(&mut self, parent: NodeId, child: NodeId) {
        self.detach(child);
        let last = self.nodes[parent].last_child;
        self.nodes[child].parent = Some(parent);
        self.nodes[child].prev = last;
        if let Some(l) = last {
            self.nodes[l].next = Some(child);
        } else {
            self.nodes[parent].first_child = Some(child);
        }
        self.nodes[parent].last_child = Some(child);
    }

    pub fn insert_before(&mut self, sibling: NodeId, child: NodeId) {
        self.detach(child);
        let (parent, prev) = (self.nodes[sibling].parent, self.nodes[sibling].prev);
        self.nodes[child].parent = parent;
        self.nodes[child].prev = prev;
        self.nodes[child].next = Some(sibling);
        self.nodes[sibling].prev = Some(child);
        match prev {
            Some(p) => self.nodes[p].next = Some(child),
            None => {
                if let Some(par) = parent {
                    self.nodes[par].first_child = Some(child);
                }
            }
        }
    }

    /// Append text, merging with a text node already last (as a parser must).
    pub fn append_text(&mut self, parent: NodeId, text: &str) {
        self.append_tendril(parent, StrTendril::from_slice(text));
    }

    /// `append_text` of the parser's own tendril: a new text node shares its buffer, not a copy.
    pub fn append_tendril(&mut self, parent: NodeId, text: StrTendril) {
        if let Some(last) = self.nodes[parent].last_child {
            if let NodeData::Text(t) = &mut self.nodes[last].data {
                t.push_tendril(&text);
                return;
            }
        }
        let id = self.add(NodeData::Text(text));
        self.append(parent, id);
    }

    /// Insert text before `sibling`, merging with a text node just before it.
    pub fn insert_text_before(&mut self, sibling: NodeId, text: StrTendril) {
        if let Some(prev) = self.nodes[sibling].prev {
            if let NodeData::Text(t) = &mut self.nodes[prev].data {
                t.push_tendril(&text);
                return;
            }
        }
        let id = self.add(NodeData::Text(text));
        self.insert_before(sibling, id);
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
            if let NodeData::Text(t) = &self.nodes[nid].data {
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
        let mut cur = self.nodes[id].first_child;
        while let Some(n) = cur {
            f(n);
            if let Some(c) = self.nodes[n].first_child {
                cur = Some(c);
                continue;
            }
            let mut up = n;
            cur = None;
            while up != id {
                if let Some(nx) = self.nodes[up].next {
                    cur = Some(nx);
                    break;
                }
                match self.nodes[up].parent {
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
        self.next = self.doc.nodes[cur].next;
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
