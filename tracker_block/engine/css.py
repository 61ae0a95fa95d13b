"""Every place CSS can load something or run script: found and rewritten by the Rust core.

The caller's ``judge(url, kind, where)`` decides each URL: ``None`` keeps it, a string replaces it,
``False`` blocks it (the declaration or rule holding it is dropped, so nothing loads and no
half-rewritten value remains). Declarations that run script (``expression()``, ``behavior``,
``-moz-binding``) are reported to the judge as kind ``"script"`` and always dropped. CSS is only
tokenised when a cheap literal check (``may_load``) says it could hold a URL, an escape or script.

``tracker_block._core`` (core/src/css/) reads CSS with cssparser and cuts and serialises it as
tinycss2 did before it (tests/test_css_differential.py holds it to that); the judge is called once
per URL found.
"""
from __future__ import annotations

from typing import Callable

from tracker_block import _core

Judge = Callable[[str, str, str], "str | None | bool"]


def may_load(text: str) -> bool:
    """Could this CSS hold a load or script? False: it is passed on without being read."""
    return _core.css_may_load(text)


def clean_stylesheet(text: str, judge: Judge) -> str | None:
    """Clean a ``<style>`` sheet. Returns the new text, or None when nothing changed."""
    return _core.css_clean_stylesheet(text, judge)


def clean_declarations(text: str, judge: Judge) -> str | None:
    """Clean a ``style=""`` attribute value. Returns the new text, or None when nothing changed."""
    return _core.css_clean_declarations(text, judge)


def clean_value(text: str, judge: Judge, where: str) -> str | None | bool:
    """A bare CSS value in an attribute (SVG ``fill="url(...)"``). False when it must go."""
    return _core.css_clean_value(text, judge, where)
