"""Hidden-ness and size of an image as the reader's client renders it: the template's own ``<style>``.

Newsletters hide an image inline and show it from ``<style>`` (``@media (max-width: 600px)``
mobile alternates, ``@media (prefers-color-scheme: dark)`` logos), hide elements by class
(``.preheader{display:none!important}``), and size images by class over ``width="0"``
attributes. Calling an image hidden or tiny from its inline style alone removes honest images
and misses pixels hidden by class.

``Resolver`` reads the document's ``<style>`` sheets once (the Rust core), keeps only the rules that can
hide, show or size something, and matches their selectors with lexbor's selector engine (the
document is already a lexbor tree). Each rule belongs to a *context*: the base (no condition,
``screen``, ``all``) or one condition (a ``@media`` query, ``:hover``, Outlook.com's dark mode
``[data-ogsc]``). An image is hidden only when it is hidden in every context, and tiny only when
it is tiny in every context: shown at one width or scheme, it is content.

The cascade is simplified where mail does not need more: ``!important`` beats normal, inline
normal beats sheet normal, and among sheet rules of equal importance the later one wins
(specificity is not weighed: templates settle conflicts with ``!important``).
"""
from __future__ import annotations

import functools
import re
from typing import NamedTuple

from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import _core
from .heuristics import parse_px, size_signal, style_hides

_PSEUDO_CLASS = re.compile(r":(?:hover|focus|active|focus-within|focus-visible|visited|link|checked|target)\b",
                           re.IGNORECASE)
_OUTLOOK_DARK = re.compile(r"^\s*\[data-ogs[cb]\]\s*", re.IGNORECASE)
_BASE_MEDIA = frozenset({"", "all", "screen", "only screen"})


class _Rule(NamedTuple):
    selector: str
    context: int                              # 0: base; otherwise a condition
    decls: tuple[tuple[str, str, bool], ...]  # (property, value, important)
    hides_or_shows: bool                      # False: it only sizes (matters on an image itself)
    hides: bool                               # hides in the base context: can hide what is shown inline


def _hides(name: str, value: str) -> bool:
    if name == "display":
        return value == "none"
    if name == "visibility":
        return value in ("hidden", "collapse")
    if name == "opacity":
        return value.rstrip("%") in ("0", "0.0", ".0")
    if name == "clip":
        return True
    if name in ("left", "top"):
        px = parse_px(value)
        return px is not None and px <= -999
    if name in ("width", "height", "max-width", "max-height"):
        px = parse_px(value)
        return px is not None and px <= 1
    return False


def _shows(name: str, value: str) -> bool:
    """Could this declaration undo an inline hiding? (display:block, max-height:none, …)"""
    if name == "display":
        return value != "none"
    if name == "visibility":
        return value == "visible"
    if name in ("max-height", "max-width"):
        return value in ("none", "initial", "unset") or (parse_px(value) or 0) > 1 or value.endswith("%")
    return name.startswith("overflow") and value == "visible"


def _relevance(decls, conditional: bool) -> int:
    """2: the rule can hide or show an element; 1: it can only size one; 0: neither."""
    if any(_hides(n, v) or ((imp or conditional) and _shows(n, v)) for n, v, imp in decls):
        return 2
    return 1 if any(n in ("width", "height", "max-width", "max-height") for n, _, _ in decls) else 0


def sheet_matters(text: str) -> bool:
    """Can this ``<style>`` text hide, show or size an element at all? (a cheap literal check)"""
    return _core.css_sheet_matters(text)


# (condition, selector list, ((property, value, important), ...)) of every style rule of a sheet with a
# deciding declaration, read by the Rust core (core/src/stylesheet.rs): a brace scan for template
# sheets without strings or escapes (``_light_structure``, None for the others), else the tokeniser
# (``_full_structure``); ``_core.css_sheet_structure`` picks.
_light_structure = _core.css_light_structure
_full_structure = _core.css_full_structure


@functools.lru_cache(maxsize=256)
def _rules(sheets: tuple[str, ...]) -> tuple[_Rule, ...]:
    """The rules of a document's sheets that can hide, show or size (cached: a sender's template recurs)."""
    contexts: dict[str, int] = {}
    out: list[_Rule] = []

    def context_of(condition: str) -> int:
        return 0 if condition in _BASE_MEDIA else contexts.setdefault(condition, len(contexts) + 1)

    for text in sheets:
        for condition, selectors, decls in _core.css_sheet_structure(text):
            condition = "" if condition in _BASE_MEDIA else condition
            for sel in selectors.split(","):
                sel = sel.strip()
                if not sel or "::" in sel:
                    continue   # a pseudo-element is not the element itself
                cond = condition
                if _PSEUDO_CLASS.search(sel):
                    sel, cond = _PSEUDO_CLASS.sub("", sel), (condition + " :interaction").strip()
                if _OUTLOOK_DARK.match(sel):
                    sel, cond = _OUTLOOK_DARK.sub("", sel), (condition + " dark (outlook.com)").strip()
                relevance = _relevance(decls, bool(cond)) if sel else 0
                if relevance:
                    context = context_of(cond)
                    hides = context == 0 and any(_hides(n, v) for n, v, _ in decls)
                    out.append(_Rule(sel, context, decls, relevance == 2, hides))
    return tuple(out)


@functools.lru_cache(maxsize=2048)
def _inline(style: str) -> tuple[tuple[str, str, bool], ...]:
    """The deciding declarations of a ``style`` attribute."""
    return _core.css_inline_decls(style)


class Resolver:
    """Answers "is this element hidden / how big is it" for one document, rules resolved once."""

    def __init__(self, tree: LexborHTMLParser, rules: tuple[_Rule, ...]) -> None:
        self.matches: dict[int, list[_Rule]] = {}   # mem_id -> rules matching it, in sheet order
        self._hiders: set[int] = set()               # elements a base-context hiding rule matches
        self._showers: set[int] = set()              # elements any other hiding/showing rule matches
        for rule in rules:
            try:
                nodes = tree.css(rule.selector)
            except Exception:  # noqa: BLE001 - a selector lexbor cannot read matches nothing here
                continue
            for n in nodes:
                self.matches.setdefault(n.mem_id, []).append(rule)
                if rule.hides:
                    self._hiders.add(n.mem_id)
                elif rule.hides_or_shows:
                    self._showers.add(n.mem_id)
        self._conditions = {mid: frozenset(r.context for r in rs if r.context) for mid, rs in self.matches.items()}
        self._memo: dict[tuple[int, int], dict[str, str]] = {}
        self._hidden: dict[tuple[int, int], bool] = {}
        self._chain_contexts: dict[int, frozenset[int]] = {}

    @classmethod
    def for_document(cls, tree: LexborHTMLParser, some_hidden_or_tiny: bool) -> "Resolver | None":
        """A resolver when the document's ``<style>`` can change an image's reading; else None.

        With no image hidden or tiny inline (``some_hidden_or_tiny``), only a base-context hiding
        rule can: a template whose hiding is all under ``@media`` costs no selector matching."""
        sheets = tuple(t for t in (n.text(deep=True) or "" for n in tree.css("style")) if t and sheet_matters(t))
        if not sheets:
            return None
        rules = _rules(sheets)
        if not rules or not (some_hidden_or_tiny or any(r.hides for r in rules)):
            return None
        return cls(tree, rules)

    def _computed(self, node: LexborNode, context: int) -> dict[str, str]:
        """The element's own deciding properties in ``context`` (no inheritance)."""
        key = (node.mem_id, context)
        got = self._memo.get(key)
        if got is not None:
            return got
        props: dict[str, tuple[str, int]] = {}   # name -> (value, rank): 3 inline!, 2 sheet!, 1 inline, 0 sheet
        for rule in self.matches.get(node.mem_id, ()):
            if rule.context and rule.context != context:
                continue
            for name, value, important in rule.decls:
                rank = 2 if important else 0
                if rank >= props.get(name, ("", -1))[1]:
                    props[name] = (value, rank)
        attrs = node.attributes
        style = attrs.get("style") if attrs else None
        if style:
            for name, value, important in _inline(style):
                rank = 3 if important else 1
                if rank >= props.get(name, ("", -1))[1]:
                    props[name] = (value, rank)
        out = {name: value for name, (value, _) in props.items()}
        if attrs and "hidden" in attrs and "display" not in out:
            out["display"] = "none"
        self._memo[key] = out
        return out

    def _hidden_in(self, node: LexborNode | None, context: int) -> bool:
        """Is the element, or one of its ancestors, hidden in ``context``? (memoised per element:
        images share their ancestors)."""
        if node is None or node.tag in ("html", "-undef", None):
            return False
        mid = node.mem_id
        if context and context not in self._conditions.get(mid, ()):
            own_context = 0    # no rule of this condition touches the element: as in the base
        else:
            own_context = context
        key = (mid, context)
        got = self._hidden.get(key)
        if got is None:
            props = self._computed(node, own_context)
            got = bool(props) and style_hides(";".join(f"{k}:{v}" for k, v in props.items()))
            got = got or self._hidden_in(node.parent, context)
            self._hidden[key] = got
        return got

    def _contexts(self, node: LexborNode | None) -> frozenset[int]:
        """The conditions of every rule touching the element or an ancestor (0, the base, included)."""
        if node is None or node.tag in ("html", "-undef", None):
            return frozenset((0,))
        mid = node.mem_id
        got = self._chain_contexts.get(mid)
        if got is None:
            got = self._chain_contexts[mid] = self._conditions.get(mid, frozenset()) | self._contexts(node.parent)
        return got

    def _size_in(self, node: LexborNode, context: int, width: float | None, height: float | None
                 ) -> tuple[float | None, float | None]:
        props = self._computed(node, context)
        w, h = _dimension(props, "width", width), _dimension(props, "height", height)
        return w, h

    def touches(self, node: LexborNode, hidden_inline: bool) -> bool:
        """Can the sheet change this image's inline reading? A rule on the image itself; for an image
        hidden inline, a rule that shows or hides an ancestor; otherwise a base rule that hides one."""
        if node.mem_id in self.matches:
            return True
        containers = (self._hiders | self._showers) if hidden_inline else self._hiders
        if not containers:
            return False
        n = node.parent
        while n is not None:
            if n.mem_id in containers:
                return True
            n = n.parent
        return False

    def resolve(self, node: LexborNode, width: float | None, height: float | None
                ) -> tuple[bool, float | None, float | None]:
        """(hidden, width, height) of an image element as the template's CSS draws it.

        ``width``/``height`` are its attribute sizes (CSS overrides them). Hidden and tiny only when
        so in every context; otherwise the size of a context where the image shows at a real size.
        """
        hidden_everywhere = True
        best: tuple[float | None, float | None] | None = None
        base = self._size_in(node, 0, width, height)
        for context in sorted(self._contexts(node)):
            if self._hidden_in(node, context):
                continue
            hidden_everywhere = False
            size = base if context == 0 else self._size_in(node, context, width, height)
            if best is None or (size_signal(*size) is None and size_signal(*best) is not None):
                best = size
        if best is None:
            best = base
        return hidden_everywhere, best[0], best[1]


def _dimension(props: dict[str, str], axis: str, attribute: float | None) -> float | None:
    """The smallest of the CSS ``axis`` / ``max-axis`` in px; the attribute when CSS says nothing.

    A CSS size that is not in px (``100%``, ``auto``) overrides the attribute and is unknown (None).
    """
    value = attribute
    if axis in props:
        v = props[axis]
        value = parse_px(v)
    cap = props.get("max-" + axis)
    if cap is not None:
        px = parse_px(cap)
        if px is not None:
            value = px if value is None else min(value, px)
    return value
