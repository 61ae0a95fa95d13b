//! `tracker_block/visibility.py`'s `Resolver` on the arena DOM: which images the template's own
//! `<style>` hides, shows or sizes. It consumes the rules the sheet reader keeps — (selector,
//! context, declarations) — and matches their selectors with Servo's `selectors` crate.
//!
//! The cascade is the Python one, simplified where mail does not need more: `!important` beats
//! normal, inline normal beats sheet normal, and among sheet rules of equal importance the later
//! one wins. An image is hidden only when hidden in every context, tiny only when tiny in every one.
use std::collections::BTreeSet;
use std::fmt;

use cssparser::{self as css, ToCss};
use html5ever::ns;
use precomputed_hash::PrecomputedHash;
use selectors::attr::{AttrSelectorOperation, CaseSensitivity, NamespaceConstraint};
use selectors::context::{
    MatchingContext, MatchingForInvalidation, MatchingMode, NeedsSelectorFlags, QuirksMode, SelectorCaches,
};
use selectors::matching::ElementSelectorFlags;
use selectors::parser::{ParseRelative, SelectorImpl, SelectorList, SelectorParseErrorKind};
use selectors::{Element, OpaqueElement};

use super::collect::FnvMap;
use super::dom::{attr_name, Document, NodeData, NodeId, DOCUMENT};
use super::style::{parse_px, py_strip, style_hides};

/// One sheet rule that can hide, show or size an element (visibility.py's `_Rule`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub selector: String,
    /// 0: the base context; otherwise one condition (`@media …`, `:interaction`, Outlook dark).
    pub context: u32,
    /// (property, value, important), names and values lowercased.
    pub decls: Vec<(String, String, bool)>,
    /// False: the rule only sizes (it matters on an image itself).
    pub hides_or_shows: bool,
    /// It hides in the base context: it can hide what is shown inline.
    pub hides: bool,
}

// ------------------------------------------------------------------ selectors glue

#[derive(Clone, Debug, PartialEq)]
pub struct Impl;

/// Strings for every selector part (names, classes, attribute values).
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct CssStr(String);

impl ToCss for CssStr {
    fn to_css<W: fmt::Write>(&self, dest: &mut W) -> fmt::Result {
        css::serialize_identifier(&self.0, dest)
    }
}

impl<'a> From<&'a str> for CssStr {
    fn from(s: &'a str) -> Self {
        CssStr(s.to_owned())
    }
}

impl AsRef<str> for CssStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PrecomputedHash for CssStr {
    fn precomputed_hash(&self) -> u32 {
        // FNV-1a over the bytes: only the bloom filter uses it, and we pass none.
        self.0.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
    }
}

/// No non-tree-structural pseudo-class is supported (the Python side strips `:hover` & co. into a
/// context first); a selector using another one fails to parse and matches nothing, as in lexbor.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum NoPseudoClass {}

impl selectors::parser::NonTSPseudoClass for NoPseudoClass {
    type Impl = Impl;
    fn is_active_or_hover(&self) -> bool {
        match *self {}
    }
    fn is_user_action_state(&self) -> bool {
        match *self {}
    }
}

impl ToCss for NoPseudoClass {
    fn to_css<W: fmt::Write>(&self, _dest: &mut W) -> fmt::Result {
        match *self {}
    }
}

#[derive(Clone, Debug, Eq, PartialEq)]
pub enum NoPseudoElement {}

impl selectors::parser::PseudoElement for NoPseudoElement {
    type Impl = Impl;
}

impl ToCss for NoPseudoElement {
    fn to_css<W: fmt::Write>(&self, _dest: &mut W) -> fmt::Result {
        match *self {}
    }
}

impl SelectorImpl for Impl {
    type ExtraMatchingData<'a> = std::marker::PhantomData<&'a ()>;
    type AttrValue = CssStr;
    type Identifier = CssStr;
    type LocalName = CssStr;
    type NamespaceUrl = CssStr;
    type NamespacePrefix = CssStr;
    type BorrowedLocalName = CssStr;
    type BorrowedNamespaceUrl = CssStr;
    type NonTSPseudoClass = NoPseudoClass;
    type PseudoElement = NoPseudoElement;
}

struct SelParser;

impl<'i> selectors::parser::Parser<'i> for SelParser {
    type Impl = Impl;
    type Error = SelectorParseErrorKind<'i>;

    fn parse_is_and_where(&self) -> bool {
        true
    }

    fn parse_nth_child_of(&self) -> bool {
        true
    }
}

/// Parse a selector list; None when it is not one (it then matches nothing).
pub fn parse_selector(text: &str) -> Option<SelectorList<Impl>> {
    let mut input = css::ParserInput::new(text);
    let mut parser = css::Parser::new(&mut input);
    SelectorList::parse(&SelParser, &mut parser, ParseRelative::No).ok()
}

/// What the rightmost compound of one selector requires of an element (its type, ids, classes): a
/// cheap test that skips the full match for nearly every element.
#[derive(Default)]
struct Hint {
    local: Option<(String, String)>,
    ids: Vec<String>,
    classes: Vec<String>,
}

impl Hint {
    fn of(list: &SelectorList<Impl>) -> Vec<Hint> {
        use selectors::parser::Component;
        list.slice()
            .iter()
            .map(|sel| {
                let mut h = Hint::default();
                for c in sel.iter() {
                    match c {
                        Component::LocalName(l) => h.local = Some((l.name.0.clone(), l.lower_name.0.clone())),
                        Component::ID(i) => h.ids.push(i.0.clone()),
                        Component::Class(c) => h.classes.push(c.0.clone()),
                        _ => {}
                    }
                }
                h
            })
            .collect()
    }

    fn admits(&self, local: &str, id: Option<&str>, classes: &[&str]) -> bool {
        self.local.as_ref().is_none_or(|(name, lower)| local == name || local == lower)
            && self.ids.iter().all(|i| id == Some(i.as_str()))
            && self.classes.iter().all(|c| classes.contains(&c.as_str()))
    }
}

/// An element of the arena, as the selector matcher sees it.
#[derive(Clone, Copy)]
pub struct El<'a> {
    doc: &'a Document,
    id: NodeId,
}

impl fmt::Debug for El<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "El({})", self.id)
    }
}

impl<'a> El<'a> {
    fn at(doc: &'a Document, id: Option<NodeId>) -> Option<El<'a>> {
        id.filter(|&i| doc.element(i).is_some()).map(|id| El { doc, id })
    }

    fn sibling(&self, forward: bool) -> Option<El<'a>> {
        let step = |n: NodeId| if forward { self.doc.node(n).next } else { self.doc.node(n).prev };
        let mut cur = step(self.id);
        while let Some(n) = cur {
            if self.doc.element(n).is_some() {
                return Some(El { doc: self.doc, id: n });
            }
            cur = step(n);
        }
        None
    }

    fn attr_value(&self, name: &str) -> Option<&'a str> {
        self.doc.attr(self.id, name)
    }
}

impl Element for El<'_> {
    type Impl = Impl;

    fn opaque(&self) -> OpaqueElement {
        OpaqueElement::new(self.doc.node(self.id))
    }
    fn parent_element(&self) -> Option<Self> {
        El::at(self.doc, self.doc.node(self.id).parent)
    }
    fn parent_node_is_shadow_root(&self) -> bool {
        false
    }
    fn containing_shadow_host(&self) -> Option<Self> {
        None
    }
    fn is_pseudo_element(&self) -> bool {
        false
    }
    fn prev_sibling_element(&self) -> Option<Self> {
        self.sibling(false)
    }
    fn next_sibling_element(&self) -> Option<Self> {
        self.sibling(true)
    }
    fn first_element_child(&self) -> Option<Self> {
        self.doc.children(self.id).find(|&c| self.doc.element(c).is_some()).map(|id| El { doc: self.doc, id })
    }
    fn is_html_element_in_html_document(&self) -> bool {
        self.doc.element(self.id).is_some_and(|e| e.name.ns == ns!(html))
    }
    fn has_local_name(&self, name: &CssStr) -> bool {
        self.doc.element(self.id).is_some_and(|e| *e.name.local == *name.0)
    }
    fn has_namespace(&self, ns: &CssStr) -> bool {
        self.doc.element(self.id).is_some_and(|e| *e.name.ns == *ns.0)
    }
    fn is_same_type(&self, other: &Self) -> bool {
        match (self.doc.element(self.id), other.doc.element(other.id)) {
            (Some(a), Some(b)) => a.name.local == b.name.local && a.name.ns == b.name.ns,
            _ => false,
        }
    }
    fn attr_matches(
        &self,
        ns: &NamespaceConstraint<&CssStr>,
        local_name: &CssStr,
        operation: &AttrSelectorOperation<&CssStr>,
    ) -> bool {
        let Some(e) = self.doc.element(self.id) else { return false };
        e.attrs.iter().any(|a| {
            *a.name.local == *local_name.0
                && match ns {
                    NamespaceConstraint::Any => true,
                    NamespaceConstraint::Specific(url) => *a.name.ns == *url.0,
                }
                && operation.eval_str(&a.value)
        })
    }
    fn match_non_ts_pseudo_class(&self, pc: &NoPseudoClass, _: &mut MatchingContext<Impl>) -> bool {
        match *pc {}
    }
    fn match_pseudo_element(&self, pe: &NoPseudoElement, _: &mut MatchingContext<Impl>) -> bool {
        match *pe {}
    }
    fn apply_selector_flags(&self, _flags: ElementSelectorFlags) {}
    fn is_link(&self) -> bool {
        self.doc.element(self.id).is_some_and(|e| {
            e.name.ns == ns!(html)
                && matches!(&*e.name.local, "a" | "area" | "link")
                && e.attrs.iter().any(|a| &*a.name.local == "href")
        })
    }
    fn is_html_slot_element(&self) -> bool {
        false
    }
    fn has_id(&self, id: &CssStr, case_sensitivity: CaseSensitivity) -> bool {
        self.attr_value("id").is_some_and(|v| case_sensitivity.eq(v.as_bytes(), id.0.as_bytes()))
    }
    fn has_class(&self, name: &CssStr, case_sensitivity: CaseSensitivity) -> bool {
        self.attr_value("class").is_some_and(|v| {
            v.split(|c: char| c.is_ascii_whitespace()).any(|c| case_sensitivity.eq(c.as_bytes(), name.0.as_bytes()))
        })
    }
    fn has_custom_state(&self, _name: &CssStr) -> bool {
        false
    }
    fn imported_part(&self, _name: &CssStr) -> Option<CssStr> {
        None
    }
    fn is_part(&self, _name: &CssStr) -> bool {
        false
    }
    fn is_empty(&self) -> bool {
        self.doc.children(self.id).all(|c| match &self.doc.node(c).data {
            NodeData::Element(_) => false,
            NodeData::Text(t) => t.is_empty(),
            _ => true,
        })
    }
    fn is_root(&self) -> bool {
        self.doc.node(self.id).parent == Some(DOCUMENT)
    }
    fn add_element_unique_hashes(&self, _filter: &mut selectors::bloom::BloomFilter) -> bool {
        false
    }
}

// ------------------------------------------------------------------ declarations

const PROPS: [&str; 13] = [
    "display", "visibility", "opacity", "width", "height", "max-width", "max-height", "overflow", "overflow-x",
    "overflow-y", "clip", "left", "top",
];

/// `_light_decls`: `name: value [!important]` split on `;` (no strings, escapes or comments).
fn light_decls(block: &str) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for part in block.split(';') {
        let Some((name, value)) = part.split_once(':') else { continue };
        // (only ASCII can lowercase into a property name: test before allocating the lowercase)
        let name = py_strip(name);
        let Some(name) = PROPS.iter().find(|p| name.eq_ignore_ascii_case(p)).map(|p| p.to_string()) else {
            continue;
        };
        let value = py_strip(value).to_lowercase();
        let trimmed = value.trim_end_matches(py_space_or_nothing);
        let (value, important) = match strip_important(trimmed) {
            Some(v) => (v.trim_end_matches(py_space_or_nothing).to_owned(), true),
            None => (value.clone(), false),
        };
        out.push((name, value, important));
    }
    out
}

fn py_space_or_nothing(c: char) -> bool {
    super::style::py_space(c)
}

/// `!\s*important\s*$` at the end of a lowercased value: the value before it.
fn strip_important(value: &str) -> Option<&str> {
    let v = value.trim_end_matches(py_space_or_nothing);
    let rest = v.strip_suffix("important")?;
    let rest = rest.trim_end_matches(py_space_or_nothing);
    rest.strip_suffix('!')
}

/// Declarations of a style holding strings, escapes or comments, read by a CSS tokenizer (tinycss2
/// in Python). Values are the source text of their tokens, trimmed and lowercased.
fn token_decls(block: &str) -> Vec<(String, String, bool)> {
    let mut input = css::ParserInput::new(block);
    let mut p = css::Parser::new(&mut input);
    let mut out = Vec::new();
    while !p.is_exhausted() {
        let name = match p.next() {
            Ok(css::Token::Ident(n)) => Some(n.to_ascii_lowercase()),
            Ok(_) => None,
            Err(_) => break,
        };
        let got: Result<Option<(String, bool)>, css::ParseError<'_, ()>> =
            p.parse_until_after(css::Delimiter::Semicolon, |p| {
                if name.is_none() || p.expect_colon().is_err() {
                    while p.next().is_ok() {}
                    return Ok(None);
                }
                let start = p.position();
                let mut important = false;
                let end = loop {
                    let before = p.position();
                    if p.try_parse(|p| css::parse_important(p).and_then(|_| p.expect_exhausted())).is_ok() {
                        important = true;
                        break before;
                    }
                    if p.next_including_whitespace().is_err() {
                        break p.position();
                    }
                };
                Ok(Some((p.slice(start..end).to_owned(), important)))
            });
        if let (Some(name), Ok(Some((value, important)))) = (name, got) {
            if PROPS.contains(&name.as_str()) {
                out.push((name, py_strip(&value).to_lowercase(), important));
            }
        }
    }
    out
}

/// An inline style's deciding declarations (`_inline`).
pub fn inline_decls(style: &str) -> Vec<(String, String, bool)> {
    if style.contains(['"', '\'', '\\']) || style.contains("/*") {
        token_decls(style)
    } else {
        light_decls(style)
    }
}

// ------------------------------------------------------------------ the resolver

pub use crate::heuristics::size_signal;

/// An element's own deciding properties in one context, (name, value), shared by the memo.
type Props = std::rc::Rc<Vec<(String, String)>>;

/// The rules' parsed selectors, bucketed by what the rightmost compound of each requires (an id, a
/// class, a type, or nothing), as browsers' selector maps do: an element is tried only against the
/// rules that can match it, not against every rule of a 50 KB sheet.
struct Index {
    parsed: Vec<Option<(SelectorList<Impl>, Vec<Hint>)>>,
    by_id: FnvMap<String, Vec<usize>>,
    by_class: FnvMap<String, Vec<usize>>,
    by_local: FnvMap<String, Vec<usize>>,
    universal: Vec<usize>,
}

impl Index {
    fn new(rules: &[Rule]) -> Index {
        let parsed: Vec<Option<(SelectorList<Impl>, Vec<Hint>)>> = rules
            .iter()
            .map(|r| parse_selector(&r.selector).map(|l| {
                let h = Hint::of(&l);
                (l, h)
            }))
            .collect();
        let mut index =
            Index { parsed: Vec::new(), by_id: FnvMap::default(), by_class: FnvMap::default(), by_local: FnvMap::default(), universal: Vec::new() };
        for (i, p) in parsed.iter().enumerate() {
            let Some((_, hints)) = p else { continue };
            for h in hints {
                let bucket = if let Some(id) = h.ids.first() {
                    index.by_id.entry(id.clone()).or_default()
                } else if let Some(class) = h.classes.first() {
                    index.by_class.entry(class.clone()).or_default()
                } else if let Some((name, lower)) = &h.local {
                    if name != lower {
                        index.by_local.entry(name.clone()).or_default().push(i);
                    }
                    index.by_local.entry(lower.clone()).or_default()
                } else {
                    &mut index.universal
                };
                bucket.push(i);
            }
        }
        index.parsed = parsed;
        index
    }

    /// The rules whose selectors match the element, in rule order (the cascade's tie-break); None
    /// when matching them would cost more than `work_left` (`Resolver::exhausted`).
    fn matching(&self, doc: &Document, id: NodeId, caches: &mut SelectorCaches, work_left: &mut usize) -> Option<Vec<usize>> {
        let el = El { doc, id };
        let local = doc.element(id).map_or("", |e| &*e.name.local);
        let el_id = el.attr_value("id");
        let classes: Vec<&str> =
            el.attr_value("class").map_or_else(Vec::new, |c| c.split(|ch: char| ch.is_ascii_whitespace()).collect());
        let mut candidates: Vec<usize> = self.universal.clone();
        let mut add = |b: Option<&Vec<usize>>| candidates.extend(b.into_iter().flatten());
        add(el_id.and_then(|i| self.by_id.get(i)));
        for c in classes.iter().filter(|c| !c.is_empty()) {
            add(self.by_class.get(*c));
        }
        add(self.by_local.get(local));
        candidates.sort_unstable();
        candidates.dedup();
        // A candidate's combinators may walk every ancestor: charge each one the element's depth.
        let depth = 1 + doc.ancestors(id).count();
        *work_left = work_left.checked_sub(candidates.len().saturating_mul(depth))?;
        let mut ctx = MatchingContext::new(
            MatchingMode::Normal,
            None,
            caches,
            QuirksMode::NoQuirks,
            NeedsSelectorFlags::No,
            MatchingForInvalidation::No,
        );
        candidates
            .into_iter()
            .filter(|&i| {
                let Some((sel, hints)) = &self.parsed[i] else { return false };
                hints.iter().any(|h| h.admits(local, el_id, &classes))
                    && selectors::matching::matches_selector_list(sel, &el, &mut ctx)
            })
            .collect::<Vec<_>>()
            .into()
    }
}

/// What the sheet's rules say of one element: the rules matching it, in order, and their contexts.
struct Matched {
    rules: Vec<usize>,
    /// A matching rule hides in the base context / can hide or show / the non-base contexts.
    hider: bool,
    shower: bool,
    conditions: BTreeSet<u32>,
}

/// Answers "is this element hidden / how big is it" for one document. An element's rules are matched
/// when a question first needs them: only images and their ancestors are ever asked about.
pub struct Resolver<'d> {
    doc: &'d Document,
    rules: Vec<Rule>,
    index: Index,
    caches: SelectorCaches,
    /// Selector matching the resolver may still do (candidate rules × element depth); once it is
    /// spent, `exhausted` is set and every answer after it is void (`visibility::resolve` gives up).
    work_left: usize,
    exhausted: bool,
    matched: FnvMap<NodeId, std::rc::Rc<Matched>>,
    any_hider: bool,
    any_shower: bool,
    memo: FnvMap<(NodeId, u32), Props>,
    hidden: FnvMap<(NodeId, u32), bool>,
}

/// How much selector matching a document's resolver may do, in candidate rules × element depth: a
/// fixed allowance and 1,024 units a node (a unit costs 5–15 ns). Hostile sheets make matching
/// quadratic (3,000 `*:nth-child(N) img` rules and 3,000 images 200 levels deep, 0.25 MB, took 24 s);
/// none of the 1,790 test and benchmark cleanings needs even 200,000 units.
pub fn matching_budget(nodes: usize) -> usize {
    16_000_000usize.saturating_add(nodes.saturating_mul(1_024))
}

impl<'d> Resolver<'d> {
    /// The matching budget ran out: the answers are void.
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// `Resolver.for_document` once the sheets' rules are read: None when the rules cannot change
    /// an image's reading (with no image hidden or tiny inline, only a base hiding rule can).
    pub fn for_rules(doc: &'d Document, rules: Vec<Rule>, some_hidden_or_tiny: bool) -> Option<Resolver<'d>> {
        if rules.is_empty() || !(some_hidden_or_tiny || rules.iter().any(|r| r.hides)) {
            return None;
        }
        Some(Resolver::new(doc, rules))
    }

    pub fn new(doc: &'d Document, rules: Vec<Rule>) -> Resolver<'d> {
        let index = Index::new(&rules);
        let any_hider = rules.iter().any(|r| r.hides);
        let any_shower = rules.iter().any(|r| !r.hides && r.hides_or_shows);
        Resolver {
            doc,
            rules,
            index,
            caches: SelectorCaches::default(),
            work_left: matching_budget(doc.node_count()),
            exhausted: false,
            matched: FnvMap::default(),
            any_hider,
            any_shower,
            memo: FnvMap::default(),
            hidden: FnvMap::default(),
        }
    }

    /// The element's matching rules (matched on first use).
    fn matched(&mut self, id: NodeId) -> std::rc::Rc<Matched> {
        if let Some(m) = self.matched.get(&id) {
            return m.clone();
        }
        let rules = if self.doc.element(id).is_some() && !self.exhausted {
            let rules = self.index.matching(self.doc, id, &mut self.caches, &mut self.work_left);
            self.exhausted = rules.is_none();
            rules.unwrap_or_default()
        } else {
            Vec::new()
        };
        let m = std::rc::Rc::new(Matched {
            hider: rules.iter().any(|&i| self.rules[i].hides),
            shower: rules.iter().any(|&i| !self.rules[i].hides && self.rules[i].hides_or_shows),
            conditions: rules.iter().map(|&i| self.rules[i].context).filter(|&c| c != 0).collect(),
            rules,
        });
        self.matched.insert(id, m.clone());
        m
    }

    /// The element's own deciding properties in `context` (no inheritance).
    fn computed(&mut self, node: NodeId, context: u32) -> Props {
        if let Some(got) = self.memo.get(&(node, context)) {
            return got.clone();
        }
        // name -> (value, rank): 3 inline !important, 2 sheet !important, 1 inline, 0 sheet
        let mut props: Vec<(String, String, i32)> = Vec::new();
        let mut set = |name: &str, value: &str, rank: i32| match props.iter_mut().find(|p| p.0 == name) {
            Some(p) => {
                if rank >= p.2 {
                    p.1 = value.to_owned();
                    p.2 = rank;
                }
            }
            None => props.push((name.to_owned(), value.to_owned(), rank)),
        };
        let matched = self.matched(node);
        for &i in &matched.rules {
            let rule = &self.rules[i];
            if rule.context != 0 && rule.context != context {
                continue;
            }
            for (name, value, important) in &rule.decls {
                set(name, value, if *important { 2 } else { 0 });
            }
        }
        let attrs = self.doc.element(node).map(|e| e.attrs.as_slice()).unwrap_or(&[]);
        if let Some(style) = attrs.iter().find(|a| attr_name(a) == "style").filter(|a| !a.value.is_empty()) {
            for (name, value, important) in inline_decls(&style.value) {
                set(&name, &value, if important { 3 } else { 1 });
            }
        }
        let mut out: Vec<(String, String)> = props.into_iter().map(|(n, v, _)| (n, v)).collect();
        if attrs.iter().any(|a| attr_name(a) == "hidden") && !out.iter().any(|(n, _)| n == "display") {
            out.push(("display".to_owned(), "none".to_owned()));
        }
        let out = std::rc::Rc::new(out);
        self.memo.insert((node, context), out.clone());
        out
    }

    fn is_top(&self, node: Option<NodeId>) -> Option<NodeId> {
        let id = node?;
        let e = self.doc.element(id)?;
        (&*e.name.local != "html").then_some(id)
    }

    /// Is the element, or one of its ancestors, hidden in `context`?
    fn hidden_in(&mut self, node: Option<NodeId>, context: u32) -> bool {
        // Iterative over the ancestor chain (deep trees), memoised per element and context.
        let mut chain = Vec::new();
        let mut cur = self.is_top(node);
        let mut above = false;
        while let Some(id) = cur {
            if let Some(&got) = self.hidden.get(&(id, context)) {
                above = got;
                break;
            }
            chain.push(id);
            cur = self.is_top(self.doc.node(id).parent);
        }
        for id in chain.into_iter().rev() {
            let own = if context != 0 && !self.matched(id).conditions.contains(&context) {
                0
            } else {
                context
            };
            let props = self.computed(id, own);
            let joined: Vec<String> = props.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            above = (!props.is_empty() && style_hides(&joined.join(";"))) || above;
            self.hidden.insert((id, context), above);
        }
        above
    }

    /// The conditions of every rule touching the element or an ancestor (0, the base, included).
    fn contexts(&mut self, node: NodeId) -> BTreeSet<u32> {
        let mut out = BTreeSet::from([0]);
        let mut cur = self.is_top(Some(node));
        while let Some(id) = cur {
            out.extend(self.matched(id).conditions.iter().copied());
            cur = self.is_top(self.doc.node(id).parent);
        }
        out
    }

    /// Can the sheet change this image's inline reading? A rule on the image itself; for an image
    /// hidden inline, a rule that shows or hides an ancestor; otherwise a base rule that hides one.
    pub fn touches(&mut self, node: NodeId, hidden_inline: bool) -> bool {
        if !self.matched(node).rules.is_empty() {
            return true;
        }
        if !self.any_hider && (!hidden_inline || !self.any_shower) {
            return false; // no rule could make an ancestor a hider (or a shower)
        }
        let doc = self.doc;
        doc.ancestors(node).any(|id| {
            let m = self.matched(id);
            m.hider || (hidden_inline && m.shower)
        })
    }

    fn size_in(&mut self, node: NodeId, context: u32, w: Option<f64>, h: Option<f64>) -> (Option<f64>, Option<f64>) {
        let props = self.computed(node, context);
        (dimension(&props, "width", w), dimension(&props, "height", h))
    }

    /// (hidden, width, height) of an image element as the template's CSS draws it; `width` and
    /// `height` are its attribute sizes (CSS overrides them).
    pub fn resolve(&mut self, node: NodeId, width: Option<f64>, height: Option<f64>) -> (bool, Option<f64>, Option<f64>) {
        let mut hidden_everywhere = true;
        let mut best: Option<(Option<f64>, Option<f64>)> = None;
        let base = self.size_in(node, 0, width, height);
        for context in self.contexts(node) {
            if self.hidden_in(Some(node), context) {
                continue;
            }
            hidden_everywhere = false;
            let size = if context == 0 { base } else { self.size_in(node, context, width, height) };
            if best.is_none_or(|b| size_signal(size.0, size.1).is_none() && size_signal(b.0, b.1).is_some()) {
                best = Some(size);
            }
        }
        let (w, h) = best.unwrap_or(base);
        (hidden_everywhere, w, h)
    }
}

/// The smallest of the CSS `axis` / `max-axis` in px; the attribute when CSS says nothing. A CSS
/// size that is not in px (`100%`, `auto`) overrides the attribute and is unknown (None).
fn dimension(props: &[(String, String)], axis: &str, attribute: Option<f64>) -> Option<f64> {
    let get = |name: &str| props.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut value = attribute;
    if let Some(v) = get(axis) {
        value = parse_px(Some(v));
    }
    if let Some(px) = get(&format!("max-{axis}")).and_then(|cap| parse_px(Some(cap))) {
        value = Some(value.map_or(px, |v| v.min(px)));
    }
    value
}

/// Texts of the document's `<style>` elements (HTML or SVG), in document order.
pub fn style_texts(doc: &Document) -> Vec<String> {
    let mut out = Vec::new();
    doc.for_each_descendant(DOCUMENT, &mut |id| {
        if doc.element(id).is_some_and(|e| &*e.name.local == "style") {
            out.push(doc.text_content(id, ""));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{collect, parse};

    fn rule(sel: &str, context: u32, decls: &[(&str, &str, bool)], hides: bool) -> Rule {
        Rule {
            selector: sel.into(),
            context,
            decls: decls.iter().map(|(n, v, i)| (n.to_string(), v.to_string(), *i)).collect(),
            hides_or_shows: true,
            hides,
        }
    }

    #[test]
    fn hidden_by_class_shown_by_media() {
        let doc = parse(r#"<div class="pre"><img src="a"></div><img class="m" src="b" style="display:none">"#).unwrap();
        let (sites, _) = collect(&doc);
        let rules = vec![
            rule(".pre", 0, &[("display", "none", true)], true),
            rule("img.m", 1, &[("display", "block", true)], false),
        ];
        let mut r = Resolver::new(&doc, rules);
        assert!(r.touches(sites[0].node, false));
        assert_eq!(r.resolve(sites[0].node, None, None).0, true);
        assert_eq!(r.resolve(sites[1].node, None, None).0, false);
        assert!(parse_selector("a:hover").is_none() && parse_selector("td > .x, p[align=center] + b").is_some());
    }

    /// The bucketed index finds exactly the rules a brute-force match of every rule finds, in order.
    #[test]
    fn index_matches_as_every_rule_tried() {
        let doc = parse(concat!(
            r#"<table id="T" class="wrap  main"><tr><td class="x"><IMG id=Hero class="a b" src=a>"#,
            r#"<span><img class=b src=b></span></td></tr></table><p><input type=image src=c><svg><image href=d></svg>"#
        ))
        .unwrap();
        let sels = [
            "img", "IMG", "*", "#Hero", "#hero", ".a", ".b.a", "td .b", "table.main img", ".wrap > tr img", "#T img.b",
            "span > *", "td:first-child img", ":is(.a, .b)", "input[type=image]", "p > input", "image", "svg image",
            "img:not(.a)", ".x img + span img", "[src]", "tr td", "nope", ".main",
        ];
        let rules: Vec<Rule> = sels.iter().map(|s| rule(s, 0, &[("display", "none", false)], true)).collect();
        let index = Index::new(&rules);
        let mut caches = SelectorCaches::default();
        let mut stack = vec![DOCUMENT];
        let mut elements = 0;
        while let Some(id) = stack.pop() {
            stack.extend(doc.children(id));
            if doc.element(id).is_none() {
                continue;
            }
            elements += 1;
            let mut ctx = MatchingContext::new(
                MatchingMode::Normal, None, &mut caches, QuirksMode::NoQuirks, NeedsSelectorFlags::No,
                MatchingForInvalidation::No,
            );
            let el = El { doc: &doc, id };
            let brute: Vec<usize> = (0..sels.len())
                .filter(|&i| parse_selector(sels[i]).is_some_and(|l| selectors::matching::matches_selector_list(&l, &el, &mut ctx)))
                .collect();
            let mut unlimited = usize::MAX;
            assert_eq!(index.matching(&doc, id, &mut caches, &mut unlimited).unwrap(), brute, "element {id}");
        }
        assert!(elements > 10);
    }

    #[test]
    fn declarations() {
        assert_eq!(light_decls("Display : None !IMPORTANT; color:red"), vec![("display".into(), "none".into(), true)]);
        assert_eq!(
            token_decls("font-family:'a;display:none'; width: 1px ! important"),
            vec![("width".into(), "1px".into(), true)]
        );
    }
}
