"""Which ``data:`` URLs may stay where something loads: those that can neither run script nor load more.

A ``data:`` URL fetches nothing from the network, but it is a document of its own: an SVG or XML one
can carry script, ``javascript:`` links and further references (``<use href="data:image/svg+xml,…">``,
``<foreignObject xlink:href="data:text/xml,…<script>">``). Binary image, font and media types are kept;
an SVG document is decoded and kept only when it holds nothing that runs or refers elsewhere; every
other type (HTML, XML, script, CSS, unknown or malformed ones) goes. The check is in the Rust core
(core/src/dataurl.rs).
"""
from __future__ import annotations

from tracker_block import _core

SCRIPTABLE_DATA = "policy:scriptable-data-url"


def unsafe_reason(url: str) -> str | None:
    """None when the (normalised) ``data:`` URL is inert; otherwise the policy reason it goes."""
    return _core.dataurl_scriptable_reason(url)
