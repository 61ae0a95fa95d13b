"""tracker-block: find and neutralise email tracking.

Public API::

    clean_message(raw: bytes, options=None, *, path=None) -> (bytes, MessageReport)
    clean_html(html: str, options=None, *, recipients=()) -> HtmlResult(html, findings, changed)
    clean_text(text: str, options=None, *, recipients=()) -> (text, findings)

Names are imported on first use, so ``tracker-block --help`` or ``tracker-block proxy`` do not pay
for the HTML and CSS parsers.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "clean_message": "engine.clean", "clean_html": "engine.clean", "clean_text": "engine.clean",
    "HtmlResult": "engine.clean", "MessageError": "engine.clean", "Options": "engine.policy",
    "Finding": "engine.report", "MessageReport": "engine.report", "to_json": "engine.report",
    "to_table": "engine.report",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from tracker_block.engine.clean import HtmlResult, MessageError, clean_html, clean_message, clean_text
    from tracker_block.engine.policy import Options
    from tracker_block.engine.report import Finding, MessageReport, to_json, to_table


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracker_block' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
