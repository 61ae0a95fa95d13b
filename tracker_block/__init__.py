"""tracker-block: find and neutralise email tracking.

Public API::

    clean_message(raw: bytes, options=None, *, path=None) -> (bytes, MessageReport)
    clean_html(html: str, options=None, *, recipients=()) -> HtmlResult(html, findings, changed)
"""
from .engine import HtmlResult, MessageError, clean_html, clean_message, clean_text
from .policy import Options
from .report import Finding, MessageReport, to_json, to_table

__all__ = [
    "clean_message", "clean_html", "clean_text", "HtmlResult", "MessageError",
    "Options", "Finding", "MessageReport", "to_json", "to_table",
]
__version__ = "0.1.0"
