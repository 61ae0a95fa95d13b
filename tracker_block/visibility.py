"""Hidden-ness and size of an image as the reader's client renders it: the template's own ``<style>``.

Newsletters hide an image inline and show it from ``<style>`` (``@media (max-width: 600px)``
mobile alternates, ``@media (prefers-color-scheme: dark)`` logos), hide elements by class
(``.preheader{display:none!important}``), and size images by class over ``width="0"``
attributes. Calling an image hidden or tiny from its inline style alone removes honest images
and misses pixels hidden by class.

``Resolver`` reads the document's ``<style>`` sheets once (tinycss2), keeps only the rules that can
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

import tinycss2
from selectolax.lexbor import LexborHTMLParser, LexborNode

from .heuristics import parse_px, size_signal, style_hides

# Properties that decide whether, and how big, an element is drawn.
_PROPS = frozenset({"display", "visibility", "opacity", "width", "height", "max-width", "max-height",
                    "overflow", "overflow-x", "overflow-y", "clip", "left", "top"})
_CHEAP = ("display", "visibility", "opacity", "width", "height", "max-")
_PSEUDO_CLASS = re.compile(r":(?:hover|focus|active|focus-within|focus-visible|visited|link|checked|target)\b",
                           re.IGNORECASE)
_OUTLOOK_DARK = re.compile(r"^\s*\[data-ogs[cb]\]\s*", re.IGNORECASE)
_BASE_MEDIA = frozenset({"", "all", "screen", "only screen"})


class _Rule(NamedTuple):
    selector: str
    context: int                              # 0: base; otherwise a condition
    decls: tuple[tuple[str, str, bool], ...]  # (property, value, important)


def sheet_matters(text: str) -> bool:
    """Can this ``<style>`` text hide, show or size an element at all? (a cheap literal check)"""
    low = text.lower()
    return any(word in low for word in _CHEAP)


def _decls(content) -> tuple[tuple[str, str, bool], ...]:
    out = []
    for d in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
        if d.type == "declaration" and d.lower_name in _PROPS:
            out.append((d.lower_name, tinycss2.serialize(d.value).strip().lower(), bool(d.important)))
    return tuple(out)


def _rules(sheets: list[str]) -> list[_Rule]:
    contexts: dict[str, int] = {}
    out: list[_Rule] = []

    def context_of(condition: str) -> int:
        return 0 if condition in _BASE_MEDIA else contexts.setdefault(condition, len(contexts) + 1)

    def walk(nodes, condition: str) -> None:
        for node in nodes:
            if node.type == "at-rule" and node.content is not None:
                name = node.lower_at_keyword
                if name in ("media", "supports", "container"):
                    cond = " ".join(tinycss2.serialize(node.prelude).lower().split())
                    inner = cond if not condition else f"{condition} and {cond}"
                    walk(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True),
                         "" if (name == "media" and cond in _BASE_MEDIA and not condition) else inner)
            elif node.type == "qualified-rule":
                decls = _decls(node.content)
                if not decls:
                    continue
                for sel in tinycss2.serialize(node.prelude).split(","):
                    sel = sel.strip()
                    if not sel or "::" in sel:
                        continue   # a pseudo-element is not the element itself
                    cond = condition
                    if _PSEUDO_CLASS.search(sel):
                        sel, cond = _PSEUDO_CLASS.sub("", sel), (condition + " :interaction").strip()
                    if _OUTLOOK_DARK.match(sel):
                        sel, cond = _OUTLOOK_DARK.sub("", sel), (condition + " dark (outlook.com)").strip()
                    if sel:
                        out.append(_Rule(sel, context_of(cond), decls))

    for text in sheets:
        walk(tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True), "")
    return out


@functools.lru_cache(maxsize=2048)
def _inline(style: str) -> tuple[tuple[str, str, bool], ...]:
    return _decls(style)


class Resolver:
    """Answers "is this element hidden / how big is it" for one document, rules resolved once."""

    def __init__(self, tree: LexborHTMLParser, sheets: list[str]) -> None:
        rules = _rules(sheets)
        self.contexts = sorted({r.context for r in rules} | {0})
        self.matches: dict[int, list[_Rule]] = {}   # mem_id -> rules matching it, in sheet order
        for rule in rules:
            try:
                nodes = tree.css(rule.selector)
            except Exception:  # noqa: BLE001 - a selector lexbor cannot read matches nothing here
                continue
            for n in nodes:
                self.matches.setdefault(n.mem_id, []).append(rule)
        self._memo: dict[tuple[int, int], dict[str, str]] = {}

    @classmethod
    def for_document(cls, tree: LexborHTMLParser) -> "Resolver | None":
        """A resolver when the document's ``<style>`` can hide, show or size something; else None."""
        sheets = [t for t in (n.text(deep=True) or "" for n in tree.css("style")) if t and sheet_matters(t)]
        return cls(tree, sheets) if sheets else None

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

    def _hidden_in(self, node: LexborNode, context: int) -> bool:
        n: LexborNode | None = node
        while n is not None and n.tag not in ("html", "-undef", None):
            props = self._computed(n, context)
            if props and style_hides(";".join(f"{k}:{v}" for k, v in props.items())):
                return True
            n = n.parent
        return False

    def _size_in(self, node: LexborNode, context: int, width: float | None, height: float | None
                 ) -> tuple[float | None, float | None]:
        props = self._computed(node, context)
        w, h = _dimension(props, "width", width), _dimension(props, "height", height)
        return w, h

    def resolve(self, node: LexborNode, width: float | None, height: float | None
                ) -> tuple[bool, float | None, float | None]:
        """(hidden, width, height) of an image element as the template's CSS draws it.

        ``width``/``height`` are its attribute sizes (CSS overrides them). Hidden and tiny only when
        so in every context; otherwise the size of a context where the image shows at a real size.
        """
        hidden_everywhere = True
        best: tuple[float | None, float | None] | None = None
        base = self._size_in(node, 0, width, height)
        for context in self.contexts:
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
