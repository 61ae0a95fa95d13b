"""Every place CSS can load something: found and rewritten with tinycss2.

The caller's ``judge(url, kind, where)`` decides each URL: ``None`` keeps it, a string
replaces it, ``False`` blocks it (the declaration or rule holding it is dropped, so nothing
loads and no half-rewritten value remains). CSS is only parsed when a cheap check says it
could hold a URL or an escape.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

import tinycss2
from tinycss2 import ast

Judge = Callable[[str, str, str], "str | None | bool"]

# Anything that could hide a load: url(, src(, image-set(, @import, escapes, or a URL-looking string.
# CSS names are ASCII case-insensitive, so the text is lowercased once and searched for literals
# (an IGNORECASE regex alternation costs ~60 ns a character: 0.1 ms for a newsletter's <style>).
# Words of the declarations that run script (expression(), behavior, -moz-binding; "ession" also
# catches "expr/**/ession(").
_EXEC_LITERALS = ("ession", "behavior", "binding")
_MAYBE_LITERALS = ("url", "src", "cross-fade", "\\", "//") + _EXEC_LITERALS
_MAYBE_IMAGE = re.compile(r"image(?:-set)?\s*\(")
_MAYBE_IMPORT = re.compile(r"@\s*import")
_URL_FUNCS = frozenset({"url", "src"})
_STRING_URL_FUNCS = frozenset({"image-set", "-webkit-image-set", "image", "cross-fade", "-webkit-cross-fade"})
_URLISH = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|//|\\\\)", re.IGNORECASE)


def may_load(text: str) -> bool:
    low = text.lower()
    for lit in _MAYBE_LITERALS:
        if lit in low:
            return True
    return (("image" in low and _MAYBE_IMAGE.search(low) is not None)
            or ("import" in low and _MAYBE_IMPORT.search(low) is not None))


# Declarations that run script (IE behaviors and expression(), old Gecko XBL bindings): removed in
# every mode. IE dropped comments inside a value before reading it, so "expr/**/ession(" counts too.
EXEC_PROPERTIES = frozenset({"behavior", "-ms-behavior", "-moz-binding"})


def _squash(nodes: list, out: list[str]) -> None:
    """Names of a value's identifiers and functions, in order, comments skipped (as IE read them)."""
    for n in nodes:
        t = n.type
        if t == "ident":
            out.append(n.lower_value)
        elif t == "function":
            out.append(n.lower_name + "(")
            _squash(n.arguments, out)
        elif t in ("() block", "[] block", "{} block"):
            out.append(" ")
            _squash(n.content, out)
        elif t != "comment":
            out.append(" ")


def executable(decl: ast.Declaration) -> bool:
    """Does this declaration run script in some client (``expression()``, ``behavior``, ``-moz-binding``)?"""
    if decl.lower_name in EXEC_PROPERTIES:
        return True
    names: list[str] = []
    _squash(decl.value, names)
    return "expression(" in "".join(names)


class _Blocked(Exception):
    """A URL in this declaration/rule was judged False."""


def _rewrite_values(nodes: list, judge: Judge, kind: str, where: str, in_set: bool = False) -> tuple[list, bool]:
    """Return (nodes, changed); raise _Blocked when a URL must not load."""
    out, changed = [], False
    for node in nodes:
        t = node.type
        url = None
        if t == "error":
            # A broken url( or an unterminated string: browsers drop or end it, but what it swallowed
            # can read as more CSS to a laxer reader (found by fuzzing). The value goes.
            raise _Blocked
        if t == "url":
            url = node.value
        elif t == "function" and node.lower_name in _URL_FUNCS:
            args = [a for a in node.arguments if a.type not in ("whitespace", "comment")]
            url = args[0].value if args and args[0].type in ("string", "url") else tinycss2.serialize(node.arguments).strip()
        elif t == "string" and (in_set or _URLISH.match(node.value)):
            url = node.value
        if url is not None:
            verdict = judge(url, kind, where)
            if verdict is False:
                raise _Blocked
            if isinstance(verdict, str):
                node = (ast.StringToken(node.source_line, node.source_column, verdict, _quote(verdict))
                        if t == "string" else
                        ast.URLToken(node.source_line, node.source_column, verdict, f"url({_quote(verdict)})"))
                changed = True
            out.append(node)
            continue
        if t == "function":
            args, ch = _rewrite_values(node.arguments, judge, kind, where,
                                       in_set or node.lower_name in _STRING_URL_FUNCS)
            if ch:
                node = ast.FunctionBlock(node.source_line, node.source_column, node.name, args)
                changed = True
        elif t in ("() block", "[] block", "{} block"):
            content, ch = _rewrite_values(node.content, judge, kind, where, in_set)
            if ch:
                node.content = content
                changed = True
        out.append(node)
    return out, changed


def _quote(url: str) -> str:
    return '"' + url.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'


def _serialize_decls(nodes: Iterable) -> str:
    parts = []
    for n in nodes:
        if n.type == "declaration":
            parts.append(f"{n.name}:{tinycss2.serialize(n.value)}{' !important' if n.important else ''};")
        elif n.type != "error":
            parts.append(tinycss2.serialize([n]))
    return "".join(parts)


def _clean_block(nodes: list, judge: Judge, kind: str, raw: "list | str | None" = None) -> tuple[list, bool]:
    """Declarations and nested rules of one block. ``raw``: the block's tokens (or text), read again only
    when it holds parse errors, to tell whether a skipped region hides a URL."""
    out, changed = [], False
    hides = raw is not None and any(n.type == "error" for n in nodes) and _strings_hide_url(
        tinycss2.parse_component_value_list(raw) if isinstance(raw, str) else raw)
    for n in nodes:
        if n.type == "declaration":
            where = n.lower_name
            if executable(n):   # reported through the judge as kind "script", and always dropped
                judge(tinycss2.serialize(n.value).strip()[:200], "script", where)
                changed = True
                continue
            try:
                value, ch = _rewrite_values(n.value, judge, kind, where)
            except _Blocked:
                changed = True
                continue
            if ch:
                n.value = value
                changed = True
        elif n.type in ("qualified-rule", "at-rule"):
            kept, ch = _clean_rule(n, judge)
            changed |= ch
            if not kept:
                continue
        elif n.type == "error" and ("EOF" in n.message or hides):
            # An unclosed string, url( or block swallowed the rest of the block, or a skipped region
            # holds a string with url( in it: no browser applies it, but a laxer reader could find a
            # URL in it (found by fuzzing). It is not passed on.
            changed = True
            continue
        out.append(n)
    return out, changed


def _clean_rule(rule, judge: Judge) -> tuple[bool, bool]:
    """Clean one rule in place. Returns (keep, changed)."""
    if rule.type == "at-rule":
        name = rule.lower_at_keyword
        if name == "import":
            try:
                _, ch = _rewrite_values(rule.prelude, judge, "stylesheet", "@import", in_set=True)
            except _Blocked:
                return False, True
            return True, ch
        if name == "namespace":   # a namespace URL is a name, never fetched
            return True, False
        try:
            prelude, ch_prelude = _rewrite_values(rule.prelude, judge, "css", "@" + name)
        except _Blocked:
            return False, True
        rule.prelude = prelude
        if rule.content is None:
            return True, ch_prelude
        kind = "font" if name == "font-face" else "css"
        if name in ("media", "supports", "document", "-moz-document", "layer", "container", "scope", "starting-style"):
            new, ch = _clean_rules(tinycss2.parse_rule_list(rule.content), judge)
        else:
            new, ch = _clean_block(tinycss2.parse_blocks_contents(rule.content), judge, kind, rule.content)
            if ch:
                new = _serialize_decls(new)
        if ch:
            rule.content = tinycss2.parse_component_value_list(new if isinstance(new, str) else new)
        return True, ch or ch_prelude
    if _selector_hides_url(rule.prelude):
        return False, True
    try:
        prelude, ch_prelude = _rewrite_values(rule.prelude, judge, "css", "selector")
    except _Blocked:
        return False, True
    rule.prelude = prelude
    decls, ch = _clean_block(tinycss2.parse_blocks_contents(rule.content), judge, "css", rule.content)
    if ch:
        rule.content = tinycss2.parse_component_value_list(_serialize_decls(decls))
    return True, ch or ch_prelude


def _strings_hide_url(nodes: list) -> bool:
    """Does a string (or a tokenizer error) anywhere in these tokens hold what a lax reader takes for url()?"""
    for n in nodes:
        t = n.type
        if t == "error" or (t == "string" and ("url(" in n.value.lower() or "src(" in n.value.lower())):
            return True
        if (t == "function" and _strings_hide_url(n.arguments)) or (
                t in ("() block", "[] block", "{} block") and _strings_hide_url(n.content)):
            return True
    return False


def _selector_hides_url(nodes: list) -> bool:
    """A selector holding a url()/src() or a string with "url(" in it: no browser applies such a rule
    (a URL is not a selector), but a lax reader could fetch what is in it (found by fuzzing)."""
    for n in nodes:
        t = n.type
        if t == "url" or (t == "function" and n.lower_name in _URL_FUNCS):
            return True
        if t == "string" and ("url(" in n.value.lower() or "src(" in n.value.lower()):
            return True
        if (t == "function" and _selector_hides_url(n.arguments)) or (
                t in ("() block", "[] block") and _selector_hides_url(n.content)):
            return True
    return False


def _clean_rules(nodes: list, judge: Judge) -> tuple[str, bool]:
    out, changed = [], False
    for n in nodes:
        if n.type in ("qualified-rule", "at-rule"):
            keep, ch = _clean_rule(n, judge)
            changed |= ch
            if not keep:
                continue
        elif n.type == "error":
            changed = True   # unparseable CSS is not passed on: it might mean something else elsewhere
            continue
        out.append(n)
    return tinycss2.serialize(out), changed


def _safe(css: str) -> str:
    # A rewritten sheet must never be able to close its <style> element.
    return css.replace("<", "\\3c ")


def clean_stylesheet(text: str, judge: Judge) -> str | None:
    """Clean a ``<style>`` sheet. Returns the new text, or None when nothing changed."""
    if not may_load(text):
        return None
    rules = tinycss2.parse_stylesheet(text, skip_comments=False, skip_whitespace=False)
    new, changed = _clean_rules(rules, judge)
    return _safe(new) if changed else None


# Inline styles in mail are overwhelmingly plain "name:value;" lists whose only function is url().
# For those, the URLs are read with one regex and judged; tinycss2 (~0.1 ms for a 200-character
# style) is only needed when one of them must change, or when anything else appears: strings
# outside url(), escapes, comments (a "/" never starts one here), other functions, brackets.
_URL_TOKEN = r"""[uU][rR][lL]\(\s*(?:'[^'"\\\n]*'|"[^'"\\\n]*"|[^'"\\()\s]*)\s*\)"""
_PLAIN_VALUE = rf"""(?:{_URL_TOKEN}|[^;'"\\()/{{}}\[\]]|/(?!\*))*"""
_PLAIN_DECLS = re.compile(rf"""(?:\s*;|\s*[-a-zA-Z_][-a-zA-Z0-9_]*\s*:{_PLAIN_VALUE}(?:;|(?=\s*$)))*\s*""")
_PLAIN_DECL = re.compile(rf"""\s*([-a-zA-Z_][-a-zA-Z0-9_]*)\s*:({_PLAIN_VALUE})""")
_URL_IN_VALUE = re.compile(r"""[uU][rR][lL]\(\s*(?:'([^'"\\\n]*)'|"([^'"\\\n]*)"|([^'"\\()\s]*))\s*\)""")


def _plain_urls(text: str) -> list[tuple[str, list[str]]] | None:
    """(declaration name, its url() URLs) of a plain declaration list; None when it is not plain."""
    if _PLAIN_DECLS.fullmatch(text) is None:
        return None
    out = []
    for m in _PLAIN_DECL.finditer(text):
        urls = [u.group(1) or u.group(2) or u.group(3) or "" for u in _URL_IN_VALUE.finditer(m.group(2))]
        if urls:
            out.append((m.group(1).lower(), urls))
    return out


def clean_declarations(text: str, judge: Judge) -> str | None:
    """Clean a ``style=""`` attribute value. Returns the new text, or None when nothing changed."""
    if not may_load(text):
        return None
    low = text.lower()
    plain = None if any(w in low for w in _EXEC_LITERALS) else _plain_urls(text)
    if plain is not None:
        seen: dict[tuple[str, str, str], "str | None | bool"] = {}
        for name, urls in plain:
            for url in urls:
                verdict = seen[(url, "css", name)] = judge(url, "css", name)
                if verdict is False:
                    break   # the declaration goes: its other URLs are never read (as below)
        if all(v is None for v in seen.values()):
            return None

        def judge(url: str, kind: str, where: str, _judge=judge):   # each URL judged (and reported) once
            key = (url, kind, where)
            return seen[key] if key in seen else _judge(url, kind, where)
    nodes = tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True)
    new, changed = _clean_block(nodes, judge, "css", text)
    return _serialize_decls(new) if changed else None


def clean_value(text: str, judge: Judge, where: str) -> str | None | bool:
    """A bare CSS value in an attribute (SVG ``fill="url(...)"``). False when it must go."""
    if not may_load(text):
        return None
    try:
        nodes, changed = _rewrite_values(tinycss2.parse_component_value_list(text), judge, "css", where)
    except _Blocked:
        return False
    return tinycss2.serialize(nodes) if changed else None
