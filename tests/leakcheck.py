"""An independent second opinion for tests: which remote URLs could a browser still fetch from this HTML?

Uses lxml (a different parser from the engine's lexbor) and a plain regex over CSS, so an engine
bug is unlikely to be repeated here.
"""
from __future__ import annotations

import re

import lxml.html

_URL_ATTRS = {"src", "srcset", "lowsrc", "dynsrc", "background", "poster", "data", "codebase", "archive",
              "manifest", "icon", "profile", "href", "action", "formaction", "ping", "imagesrcset",
              "{http://www.w3.org/1999/xlink}href", "xlink:href"}
_CSS_URL = re.compile(r"""url\(\s*['"]?\s*((?:https?:)?//[^'")\s]+)|(?:image-set|import)[^;{}]*?['"]((?:https?:)?//[^'"]+)""",
                      re.IGNORECASE)
_REMOTE = re.compile(r"^\s*(?:https?:|ftp:|//|\\\\)", re.IGNORECASE)


def remote_loads(html: str) -> list[str]:
    """Remote URLs in attributes that load (not a/area href) and in CSS."""
    if not html.strip():
        return []
    doc = lxml.html.document_fromstring(html)
    found: list[str] = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        for name, value in el.attrib.items():
            lname = name.lower()
            if lname.startswith("on"):
                found.append(f"handler:{lname}")
            if lname == "style" or "url(" in value.lower():
                found += [a or b for a, b in _CSS_URL.findall(value)]
                continue
            if lname not in _URL_ATTRS:
                continue
            if lname == "href" and tag in ("a", "area"):
                continue
            for piece in (value.split(",") if "srcset" in lname else [value]):
                piece = piece.strip().split(" ")[0] if "srcset" in lname else piece
                if _REMOTE.match(piece):
                    found.append(piece.strip())
        if tag == "style" and el.text:
            found += [a or b for a, b in _CSS_URL.findall(el.text)]
        if tag in ("script", "iframe", "frame", "object", "embed", "applet", "base", "link"):
            found.append(f"element:{tag}")
        if tag == "meta" and (el.get("http-equiv") or "").lower() == "refresh":
            found.append("element:meta-refresh")
    return found
