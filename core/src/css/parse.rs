//! Rules and declarations out of component values, by tinycss2's algorithms (its
//! `parse_stylesheet`, `parse_rule_list` and `parse_blocks_contents`), so each item is cut where
//! the Python reader cut it.

use super::tokens::{Node, Text};

/// One item of a rule list or a block's contents.
#[derive(Clone, Debug, PartialEq)]
pub enum Item<'a> {
    Ws(Text<'a>),
    Comment(Text<'a>),
    QualifiedRule { prelude: Vec<Node<'a>>, content: Vec<Node<'a>> },
    AtRule { name: Text<'a>, prelude: Vec<Node<'a>>, content: Option<Vec<Node<'a>>> },
    Declaration { name: Text<'a>, value: Vec<Node<'a>>, important: bool },
    /// A parse error; `eof`: the input ended before a rule's `{}` block.
    Error { eof: bool },
}

struct Cursor<'a, 'n> {
    nodes: &'n [Node<'a>],
    pos: usize,
}

impl<'a, 'n> Cursor<'a, 'n> {
    fn next(&mut self) -> Option<&'n Node<'a>> {
        let n = self.nodes.get(self.pos);
        if n.is_some() {
            self.pos += 1;
        }
        n
    }
}

#[derive(Clone, Copy, PartialEq)]
enum List {
    Stylesheet,
    Rules,
}

/// Whitespace and comments between rules or declarations, kept unless skipped.
fn trivia<'a>(t: &Node<'a>, skip_ws: bool, skip_comments: bool, out: &mut Vec<Item<'a>>) {
    match t {
        Node::Ws(v) if !skip_ws => out.push(Item::Ws(v.clone())),
        Node::Comment(v) if !skip_comments => out.push(Item::Comment(v.clone())),
        _ => {}
    }
}

fn rule_list<'a>(nodes: &[Node<'a>], kind: List, skip_ws: bool, skip_comments: bool) -> Vec<Item<'a>> {
    let mut c = Cursor { nodes, pos: 0 };
    let mut out = Vec::new();
    while let Some(t) = c.next() {
        match t {
            Node::Ws(_) | Node::Comment(_) => trivia(t, skip_ws, skip_comments, &mut out),
            Node::Literal(v) if kind == List::Stylesheet && (v == "<!--" || v == "-->") => {}
            Node::AtKeyword(name) => out.push(at_rule(name, &mut c)),
            _ => out.push(qualified_rule(t, &mut c, false)),
        }
    }
    out
}

/// tinycss2's `parse_stylesheet` (top-level `<!--` / `-->` ignored).
pub fn parse_stylesheet<'a>(nodes: &[Node<'a>], skip_ws: bool, skip_comments: bool) -> Vec<Item<'a>> {
    rule_list(nodes, List::Stylesheet, skip_ws, skip_comments)
}

/// tinycss2's `parse_rule_list` (the content of `@media` and the like).
pub fn parse_rule_list<'a>(nodes: &[Node<'a>], skip_ws: bool, skip_comments: bool) -> Vec<Item<'a>> {
    rule_list(nodes, List::Rules, skip_ws, skip_comments)
}

/// tinycss2's `parse_blocks_contents`: declarations and nested rules of a block or style attribute.
pub fn parse_blocks_contents<'a>(nodes: &[Node<'a>], skip_ws: bool, skip_comments: bool) -> Vec<Item<'a>> {
    let mut c = Cursor { nodes, pos: 0 };
    let mut out = Vec::new();
    while let Some(t) = c.next() {
        match t {
            Node::Ws(_) | Node::Comment(_) => trivia(t, skip_ws, skip_comments, &mut out),
            Node::AtKeyword(name) => out.push(at_rule(name, &mut c)),
            _ if t.is_literal(";") => {}
            _ => out.push(blocks_content(t, &mut c)),
        }
    }
    out
}

fn at_rule<'a>(name: &Text<'a>, c: &mut Cursor<'a, '_>) -> Item<'a> {
    let mut prelude = Vec::new();
    let mut content = None;
    while let Some(t) = c.next() {
        if let Node::Curly(inner) = t {
            content = Some(inner.clone());
            break;
        }
        if t.is_literal(";") {
            break;
        }
        prelude.push(t.clone());
    }
    Item::AtRule { name: name.clone(), prelude, content }
}

fn qualified_rule<'a>(first: &Node<'a>, c: &mut Cursor<'a, '_>, stop_at_semicolon: bool) -> Item<'a> {
    let is_stop = |t: &Node| stop_at_semicolon && t.is_literal(";");
    if is_stop(first) {
        return Item::Error { eof: false };
    }
    if let Node::Curly(content) = first {
        return Item::QualifiedRule { prelude: Vec::new(), content: content.clone() };
    }
    let mut prelude = vec![first.clone()];
    while let Some(t) = c.next() {
        if is_stop(t) {
            return Item::Error { eof: false };
        }
        if let Node::Curly(content) = t {
            return Item::QualifiedRule { prelude, content: content.clone() };
        }
        prelude.push(t.clone());
    }
    Item::Error { eof: true }
}

fn blocks_content<'a>(first: &Node<'a>, c: &mut Cursor<'a, '_>) -> Item<'a> {
    let start = c.pos;
    let mut decl_end = c.pos;
    if !first.is_literal(";") && !matches!(first, Node::Curly(_)) {
        while let Some(t) = c.next() {
            if t.is_literal(";") {
                break;
            }
            decl_end = c.pos;
            if matches!(t, Node::Curly(_)) {
                break;
            }
        }
    }
    if let Some(d) = declaration(first, &c.nodes[start..decl_end]) {
        return d;
    }
    c.pos = start;
    qualified_rule(first, c, true)
}

/// tinycss2's `_parse_declaration`; None where it returns a parse error.
fn declaration<'a>(first: &Node<'a>, tokens: &[Node<'a>]) -> Option<Item<'a>> {
    let Node::Ident(name) = first else { return None };
    let mut it = tokens.iter().enumerate();
    let colon = it.by_ref().find(|(_, t)| !t.is_space_or_comment())?;
    if !colon.1.is_literal(":") {
        return None;
    }
    let rest = &tokens[colon.0 + 1..];
    #[derive(PartialEq)]
    enum State {
        Value,
        Bang,
        Important,
    }
    let mut state = State::Value;
    let mut bang = 0;
    let mut non_ws = false;
    let mut simple_block = false;
    for (i, t) in rest.iter().enumerate() {
        if state == State::Value && t.is_literal("!") {
            state = State::Bang;
            bang = i;
        } else if state == State::Bang && matches!(t, Node::Ident(v) if v.eq_ignore_ascii_case("important")) {
            state = State::Important;
        } else if !t.is_space_or_comment() {
            state = State::Value;
            if matches!(t, Node::Curly(_)) && non_ws {
                simple_block = true;
            } else {
                non_ws = true;
            }
        }
    }
    let important = state == State::Important;
    let value = if important { rest[..bang].to_vec() } else { rest.to_vec() };
    if simple_block && non_ws {
        return None;
    }
    Some(Item::Declaration { name: name.clone(), value, important })
}
