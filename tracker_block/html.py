"""Finding and rewriting every URL site in an HTML document.

The document is parsed with lexbor (selectolax), an HTML5-conformant parser, so it is read the
way a mail client's browser engine reads it. ``collect`` walks the tree once and returns the
*sites* — each place a URL can load or lead somewhere — plus the elements that go in every mode
(scripts, frames, handlers, …). ``apply`` carries out the decided action on one site. Neither
judges anything: that is ``detect`` and ``policy``.
"""
from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .heuristics import parse_px, style_hides, style_size

# Elements removed with their content in every mode, and the report kind for each.
DROP_ELEMENTS = {
    "script": "script", "iframe": "frame", "frame": "frame", "frameset": "frame", "object": "object",
    "embed": "object", "applet": "object", "bgsound": "media", "base": "base", "noembed": "object",
    "noframes": "frame", "template": "object", "portal": "frame", "fencedframe": "frame",
    "param": "object", "xml": "object", "import": "object",
}
# Elements replaced by their children (scripting-off content becomes ordinary, unambiguous markup).
UNWRAP_ELEMENTS = frozenset({"noscript"})
LINK_TAGS = frozenset({"a", "area"})
# VML shapes whose href is a hyperlink; on any other element an href is treated as a load.
VML_LINK_SHAPES = frozenset({"v:shape", "v:rect", "v:roundrect", "v:oval", "v:line", "v:polyline", "v:arc",
                             "v:curve", "v:group"})
MEDIA_TAGS = frozenset({"video", "audio", "track", "bgsound"})
# Attributes that make the client fetch something (or navigate, for a/area href).
URL_ATTRS = frozenset({
    "src", "lowsrc", "dynsrc", "background", "poster", "data", "codebase", "archive", "manifest",
    "icon", "profile", "href", "xlink:href", "action", "formaction", "ping", "srcdoc",
    "srcset", "imagesrcset", "longdesc", "classid",
})
# SVG animation can set an attribute (href, style, fill…) to a URL after parsing: such animations go.
SVG_ANIMATIONS = frozenset({"set", "animate", "animatemotion", "animatetransform", "animatecolor"})
_ANIMATED_URL_ATTRS = re.compile(r"href|src|style|fill|stroke|filter|mask|clip-path|cursor|marker", re.IGNORECASE)
# Known event-handler content attributes (HTML, SVG): checked in C by set intersection on the fast path.
EVENT_HANDLERS = frozenset("""onabort onafterprint onanimationend onanimationiteration onanimationstart onauxclick
onbeforeinput onbeforematch onbeforeprint onbeforetoggle onbeforeunload onbegin onblur oncancel oncanplay
oncanplaythrough onchange onclick onclose oncontextlost oncontextmenu oncontextrestored oncopy oncuechange oncut
ondblclick ondrag ondragend ondragenter ondragleave ondragover ondragstart ondrop ondurationchange onemptied onend
onended onerror onfocus onfocusin onfocusout onformdata onfullscreenchange onhashchange oninput oninvalid onkeydown
onkeypress onkeyup onlanguagechange onload onloadeddata onloadedmetadata onloadstart onmessage onmessageerror
onmousedown onmouseenter onmouseleave onmousemove onmouseout onmouseover onmouseup onmousewheel onoffline ononline
onpagehide onpagereveal onpageshow onpageswap onpaste onpause onplay onplaying onpointercancel onpointerdown
onpointerenter onpointerleave onpointermove onpointerout onpointerover onpointerrawupdate onpointerup onpopstate
onprogress onratechange onrejectionhandled onrepeat onreset onresize onscroll onscrollend onsearch onsecuritypolicyviolation
onseeked onseeking onselect onselectionchange onselectstart onshow onslotchange onstalled onstorage onsubmit onsuspend
ontimeupdate ontoggle ontouchcancel ontouchend ontouchmove ontouchstart ontransitioncancel ontransitionend
ontransitionrun ontransitionstart onunhandledrejection onunload onvolumechange onwaiting onwebkitanimationend
onwebkitanimationiteration onwebkitanimationstart onwebkittransitionend onwheel onzoom onactivate onfocusin""".split())
# SVG presentation attributes that take a CSS url() value (fill="url(https://…)").
SVG_URL_ATTRS = frozenset({"fill", "stroke", "filter", "mask", "clip-path", "marker", "marker-start", "marker-mid",
                           "marker-end", "cursor", "color-profile", "src"})
# An element holding none of these attributes can neither load nor run anything: it is skipped
# after one C-level set check. (An unknown on* name is inert in every browser.)
_FAST_KEYS = URL_ATTRS | EVENT_HANDLERS | SVG_URL_ATTRS
# Tags with their own handling in ``collect`` (comments and other "-" nodes are checked apart).
_SPECIAL_TAGS = frozenset(DROP_ELEMENTS) | SVG_ANIMATIONS | UNWRAP_ELEMENTS | {"style", "link", "meta"}
# Elements whose serialisation a second parse may read differently (foreign content, form nesting,
# raw text, the scripting flag): a document holding one is re-parsed until it is a fixed point.
MUTATION_PRONE_TAGS = frozenset({"svg", "math", "form", "select", "noscript", "xmp", "plaintext", "noembed",
                                 "noframes", "template", "textarea"})
_WALK_SPECIAL = _SPECIAL_TAGS | MUTATION_PRONE_TAGS | {None}
SAFE_META = frozenset({"content-type", "content-language", "x-ua-compatible"})
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]+)", re.IGNORECASE)
_CSS_IN_ATTR = re.compile(r"url\s*\(|image-set|\\", re.IGNORECASE)
_URL_IN_COMMENT = re.compile(r"""((?:https?:)?[\\/]{2}[^\s"'<>()]+|https?:[^\s"'<>()\\/][^\s"'<>()]*)""",
                             re.IGNORECASE)


@dataclass(eq=False, slots=True)
class Site:
    """One place in the document where a URL loads (``load``) or leads (link)."""

    node: LexborNode
    attr: str | None        # attribute name, None for element-level sites and <style> text
    kind: str               # report kind: image, media, css, stylesheet, frame, script, link, …
    where: str              # "img@src", "style@background", "<style>", "comment"
    url: str | None = None  # single URL (None for CSS blocks and handler removals)
    load: bool = True       # True: fetched automatically; False: a link the reader may follow
    always: str | None = None  # policy reason when the site goes in every mode
    css: str | None = None  # CSS text for style attributes / <style> blocks / CSS values
    css_mode: str = ""      # "block", "sheet" or "value"
    srcset: list[tuple[str, str]] | None = None  # (url, descriptor) candidates
    width: float | None = None
    height: float | None = None
    hidden: bool = False
    text: str = ""          # link text or alt text


def parse(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def serialize(tree: LexborHTMLParser, comments: dict[str, str] | None = None) -> str:
    """Serialize, putting back rewritten comments (lexbor cannot create comment nodes)."""
    out = tree.html or ""
    for marker, text in (comments or {}).items():
        out = out.replace(marker, f"<!--{text}-->", 1)
    return out


def set_comment(site: Site, text: str, comments: dict[str, str]) -> None:
    """Swap a comment for a unique marker that ``serialize`` turns into the rewritten comment."""
    marker = f"tbcomment{secrets.token_hex(8)}"
    comments[marker] = text.replace("-->", "").replace("--!>", "")
    site.node.replace_with(marker)


# ---------------------------------------------------------------- collecting

def parse_srcset(value: str) -> list[tuple[str, str]]:
    """srcset candidates as the HTML spec splits them: URL up to whitespace, descriptors to the comma."""
    out, i, n = [], 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        desc = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            dstart = i
            depth = 0
            while i < n and (value[i] != "," or depth):
                depth += value[i] == "("
                depth -= value[i] == ")"
                i += 1
            desc = value[dstart:i].strip()
        if url:
            out.append((url, desc))
    return out


def _after_subtree(node: LexborNode) -> int | None:
    """mem_id of the first element or comment after ``node``'s subtree in document order (None: none)."""
    n = node
    while n is not None:
        nx = n.next
        while nx is not None and nx.is_text_node:
            nx = nx.next
        if nx is not None:
            return nx.mem_id
        n = n.parent
    return None


def link_text(site: "Site") -> str:
    """The visible text of a link (read only when it matters: is this an unsubscribe link?)."""
    if site.node.tag not in LINK_TAGS:
        return ""
    try:
        return (site.node.text(deep=True, separator=" ") or "")[:200]
    except Exception:  # pragma: no cover - defensive: text of odd nodes
        return ""


_HIDES, _MAY_LOAD = 1, 2


@functools.lru_cache(maxsize=2048)
def _style_flags(style: str) -> int:
    """What an inline style means here: hides its element (``_HIDES``), may load a URL (``_MAY_LOAD``).

    Cached: a newsletter repeats a few dozen inline styles on hundreds of cells."""
    flags = _HIDES if style_hides(style) else 0
    if ("(" in style or "\\" in style or "//" in style) and (
            "//" in style or _CSS_IN_ATTR.search(style) or "src" in style.lower()):
        flags |= _MAY_LOAD
    return flags


def collect(tree: LexborHTMLParser) -> tuple[list[Site], bool]:
    """Every URL site and every always-removed element, in document order; and whether the
    document holds mutation-prone markup (``MUTATION_PRONE_TAGS``, CDATA)."""
    sites: list[Site] = []
    prone = False
    hide_ends: list[int | None] = []   # where each open hidden container's subtree ends
    add = sites.append
    root = tree.root
    if root is None:
        return sites, prone
    if root.parent is not None:   # the document node: comments before <html> count too
        root = root.parent
    for node in root.traverse(include_text=False):
        if hide_ends:
            mid = node.mem_id
            while hide_ends and hide_ends[-1] == mid:
                hide_ends.pop()
        tag = node.tag
        if tag in _WALK_SPECIAL or tag[0] == "-":   # most elements skip this
            if tag in MUTATION_PRONE_TAGS or (tag == "-comment" and (node.comment_content or "")[:7].upper() == "[CDATA["):
                prone = True
            attrs = _element_sites(node, tag, add)
            if attrs is None:
                continue
        else:
            attrs = node.attributes
        if not attrs:
            continue
        style = attrs.get("style")
        if style:
            flags = _style_flags(style)
            if flags & _HIDES or "hidden" in attrs:
                hide_ends.append(_after_subtree(node))
            if flags & _MAY_LOAD:
                add(Site(node, "style", "css", f"{tag}@style", css=style, css_mode="block"))
        elif "hidden" in attrs:
            hide_ends.append(_after_subtree(node))
        if not _FAST_KEYS.isdisjoint(attrs):
            _attribute_sites(node, tag, attrs, _FAST_KEYS.intersection(attrs), bool(hide_ends), add)
    return sites, prone


def _element_sites(node: LexborNode, tag: str | None, add) -> dict | None:
    """Sites of comments and special elements. Returns the attributes still to look at, or None."""
    if tag == "-comment":
        content = node.comment_content or ""
        if "//" in content and _URL_IN_COMMENT.search(content):
            add(Site(node, None, "image", "comment", css=content, css_mode="comment"))
        return None
    if tag is None or tag.startswith("-"):
        return None
    attrs = node.attributes
    if tag in DROP_ELEMENTS:
        url = (attrs.get("src") or attrs.get("data") or attrs.get("href") or attrs.get("codebase")
               or attrs.get("archive") or attrs.get("code"))
        add(Site(node, None, DROP_ELEMENTS[tag], f"<{tag}>", url=url, always=f"policy:no-{tag}"))
        return None
    if tag in SVG_ANIMATIONS:
        target = attrs.get("attributeName") or attrs.get("attributename") or ""
        values = " ".join(v or "" for k, v in attrs.items() if k.lower() in ("to", "from", "by", "values"))
        if _ANIMATED_URL_ATTRS.search(target) or "url(" in values.lower() or "//" in values:
            add(Site(node, None, "image", f"<{tag}>", url=values.strip() or None, always="policy:no-url-animation"))
            return None
    if tag in UNWRAP_ELEMENTS:
        add(Site(node, None, "object", f"<{tag}>", always="policy:unwrap-noscript"))
    if tag == "style":
        add(Site(node, None, "css", "<style>", css=node.text(deep=True) or "", css_mode="sheet"))
    elif tag == "link":
        rel = (attrs.get("rel") or "").lower().split()
        kind = ("stylesheet" if "stylesheet" in rel else
                "prefetch" if set(rel) & {"prefetch", "preload", "preconnect", "dns-prefetch", "prerender", "modulepreload"} else
                "manifest" if "manifest" in rel else "link")
        add(Site(node, None, kind, f"link[rel={' '.join(rel) or '?'}]", url=attrs.get("href") or attrs.get("imagesrcset"),
                 always="policy:no-link-element"))
        return None
    elif tag == "meta":
        equiv = (attrs.get("http-equiv") or "").strip().lower()
        if equiv and equiv not in SAFE_META:
            content = attrs.get("content") or ""
            m = _REFRESH_URL.search(content) if equiv == "refresh" else None
            kind = "refresh" if equiv == "refresh" else "meta"
            add(Site(node, None, kind, f"meta[http-equiv={equiv}]", url=m.group(1).strip() if m else None,
                     always=f"policy:no-meta-{equiv.replace(' ', '-')}"))
        return None
    return attrs


# URL attributes that go in every mode: name -> (report kind, policy reason).
_ALWAYS_ATTRS = {
    "ping": ("ping", "policy:no-ping"), "action": ("form", "policy:no-form-action"),
    "formaction": ("form", "policy:no-form-action"), "manifest": ("manifest", "policy:no-manifest"),
    "codebase": ("object", "policy:no-codebase"), "archive": ("object", "policy:no-archive"),
    "classid": ("object", "policy:no-classid"), "profile": ("object", "policy:no-profile"),
    "longdesc": ("object", "policy:no-longdesc"),
}
_IMG_LIKE = frozenset({"img", "image", "input"})


def _attribute_sites(node: LexborNode, tag: str, attrs: dict, names: frozenset[str], hidden: bool, add) -> None:
    """Sites of one element's URL attributes, event handlers and CSS-valued (SVG) attributes.

    ``names``: the attributes of ``attrs`` that can load or run something (a subset of ``_FAST_KEYS``).
    """
    ordered = names if len(names) == 1 else [n for n in attrs if n in names]   # document order: stable report
    for name in ordered:
        value = attrs[name]
        if value is None:
            continue
        if name not in URL_ATTRS:
            if name in EVENT_HANDLERS:
                add(Site(node, name, "script", f"{tag}@{name}", always="policy:no-event-handlers"))
            elif "(" in value and _CSS_IN_ATTR.search(value):   # SVG fill="url(...)", filter, mask, …
                add(Site(node, name, "css", f"{tag}@{name}", css=value, css_mode="value"))
            continue
        where = f"{tag}@{name}"
        if name == "href" or name == "xlink:href":
            if tag in LINK_TAGS or tag in VML_LINK_SHAPES:
                add(Site(node, name, "link", where, url=value, load=False))
                continue
            if value.lstrip().startswith("#"):
                continue  # same-document reference (SVG <use href="#id">)
        elif name in _ALWAYS_ATTRS:
            kind, reason = _ALWAYS_ATTRS[name]
            add(Site(node, name, kind, where, url=value, always=reason))
            continue
        elif name == "srcset" or name == "imagesrcset":
            site = Site(node, name, "image", where, srcset=parse_srcset(value), hidden=hidden)
            if tag in _IMG_LIKE:   # every candidate carries the same evidence as the element's src
                site.width, site.height = element_size(attrs)
            add(site)
            continue
        elif name == "srcdoc":
            add(Site(node, name, "frame", where, always="policy:no-srcdoc"))
            continue
        kind = ("media" if tag in MEDIA_TAGS or (tag == "source" and (node.parent is None or node.parent.tag != "picture"))
                else "image")
        site = Site(node, name, kind, where, url=value, hidden=hidden)
        if (name == "src" or name == "lowsrc" or name == "dynsrc") and (tag in _IMG_LIKE or tag.startswith("v:")):
            site.width, site.height = element_size(attrs)
            site.hidden = hidden or (attrs.get("type") or "").lower() == "hidden"
            site.text = attrs.get("alt") or ""
        add(site)


def element_size(attrs: dict) -> tuple[float | None, float | None]:
    """An image element's size from its width/height attributes and inline style (the smaller)."""
    sw, sh = style_size(attrs.get("style"))
    w, h = parse_px(attrs.get("width")), parse_px(attrs.get("height"))
    return (sw if w is None else (w if sw is None else min(w, sw)),
            sh if h is None else (h if sh is None else min(h, sh)))


# ---------------------------------------------------------------- applying

def remove(site: Site) -> None:
    if site.attr is None:
        site.node.decompose()
    else:
        _del_attr(site.node, site.attr)


def remove_element(site: Site) -> None:
    site.node.decompose()


def _del_attr(node: LexborNode, name: str) -> None:
    try:
        del node.attrs[name]
    except KeyError:
        pass


def set_attr(site: Site, value: str) -> None:
    site.node.attrs[site.attr] = value


def unwrap(site: Site) -> None:
    node = site.node
    if node.child is None:   # lexbor's unwrap leaves an empty element in place
        node.decompose()
    else:
        node.unwrap()


def set_css(site: Site, text: str) -> None:
    """Write back cleaned CSS: a style attribute, a <style> element's text, or a comment."""
    node = site.node
    if site.css_mode in ("block", "value"):
        if text.strip():
            node.attrs[site.attr] = text
        else:
            _del_attr(node, site.attr)
    elif site.css_mode == "sheet":
        for child in list(node.iter(include_text=True)):
            child.decompose()
        if text:
            node.insert_child(text)


def placeholder(site: Site, url: str) -> None:
    """An image replaced by a same-size box with its alt text; the URL kept for click-to-load."""
    node = site.node
    attrs = node.attrs
    for name in ("src", "srcset", "lowsrc", "dynsrc"):
        _del_attr(node, name)
    attrs["data-tb-src"] = url
    attrs["data-tb-blocked"] = "remote"
    style = attrs.get("style") or ""
    box = "border:1px dashed #999;color:#666;font:12px sans-serif;background:#f4f4f4;"
    if site.width and site.width > 2:
        box += f"width:{int(site.width)}px;"
    if site.height and site.height > 2:
        box += f"height:{int(site.height)}px;"
    attrs["style"] = box + style
    if not attrs.get("alt"):
        attrs["alt"] = "[remote image blocked]"
