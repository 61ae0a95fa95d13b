"""Finding and rewriting every URL site in an HTML document.

The document is parsed with lexbor (selectolax), an HTML5-conformant parser, so it is read the
way a mail client's browser engine reads it. ``collect`` walks the tree once and returns the
*sites* — each place a URL can load or lead somewhere — plus the elements that go in every mode
(scripts, frames, handlers, …). ``apply`` carries out the decided action on one site. Neither
judges anything: that is ``detect`` and ``policy``.
"""
from __future__ import annotations

import functools
import html as html_lib
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
_ANIMATED_URL_ATTRS = re.compile(r"href|src|style|fill|stroke|filter|mask|clip-path|cursor|marker|^\s*on",
                                 re.IGNORECASE)
# A background= value must be a URL and nothing else: clients that paste it into CSS (url(VALUE))
# would read quotes, parentheses, semicolons or backslashes in it as more CSS (a Roundcube CVE).
_NOT_URL_SHAPED = re.compile(r"[()'\"\\;<>\n\r\f]")
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
# http:host and http:\host load too: a special scheme's slashes may be missing or backslashes (WHATWG URL)
_URL_IN_COMMENT = re.compile(r"""((?:https?:)?[\\/]{2}[^\s"'<>()]+|https?:[\\/]?[^\s"'<>()\\/][^\s"'<>()]*)""",
                             re.IGNORECASE)


# Script hooks in comments: IE and Outlook read conditional comments as markup, so a comment may run
# script there (javascript: URLs, expression(), behavior, -moz-binding), also entity- or CSS-escaped.
COMMENT_SCRIPT = re.compile(r"(?<![\w-])(?:(?:java|vb|live)script\s*:|expression\s*\(|(?:-ms-)?behavior\s*:"
                            r"|-moz-binding\s*:)|<\s*base\b", re.IGNORECASE)
_COMMENT_SCRIPT_HINTS = ("script", "ession", "behavior", "binding", "&#", "\\", "/*", "base")
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\r\n\f]?|(.))", re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)


def comment_runs_script(content: str, low: str | None = None) -> bool:
    """Could this comment run script in a client that reads it as markup? (Entities, CSS escapes and
    CSS comments are undone first, as IE did.)"""
    low = content.lower() if low is None else low
    for hint in _COMMENT_SCRIPT_HINTS:
        if hint in low:
            break
    else:
        return False
    if "&" in low or "\\" in low or "/*" in low:
        low = _CSS_COMMENT.sub("", html_lib.unescape(low))
        low = _CSS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) and 0 < int(m.group(1), 16) < 0x110000
                              else (m.group(2) or ""), low)
    return COMMENT_SCRIPT.search(low) is not None


def comment_hides_url(content: str) -> bool:
    """Does a comment hold a URL only character references reveal (h&#116;tp:&#47;&#47;host)? Clients
    that read it as markup decode them; the URL scan of the raw text does not."""
    if "&" not in content:
        return False
    seen = {html_lib.unescape(m.group(1)) for m in _URL_IN_COMMENT.finditer(content)}
    return any(m.group(1) not in seen for m in _URL_IN_COMMENT.finditer(html_lib.unescape(content)))


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
    else:   # expression(), behavior, -moz-binding: always checked (plain substring tests: no regex per style)
        low = style.lower()
        if "ession" in low or "behavior" in low or "binding" in low:
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
            if tag in MUTATION_PRONE_TAGS or tag is None or (
                    tag == "-comment" and (node.comment_content or "")[:7].upper() == "[CDATA["):
                prone = True   # (tag None: a <?…> processing instruction, a bogus comment to browsers)
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
        low = content.lower()
        if (("//" in content or "\\" in content or "tp:" in low) and _URL_IN_COMMENT.search(content)) or (
                comment_runs_script(content, low)) or ("&#" in content and comment_hides_url(content)):
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
        if _ANIMATED_URL_ATTRS.search(target) or "url(" in values.lower() or "//" in values or (
                "script:" in values.lower() or "data:" in values.lower()):
            handler = target.strip().lower().startswith("on")
            add(Site(node, None, "script" if handler else "image", f"<{tag}>", url=None if handler else values.strip() or None,
                     always="policy:no-handler-animation" if handler else "policy:no-url-animation"))
            return None
    if tag in UNWRAP_ELEMENTS:
        add(Site(node, None, "object", f"<{tag}>", always="policy:unwrap-noscript"))
    if tag == "xmp":
        # Raw text to lexbor (and browsers), but ignored inside <select> by older parsers (libxml2,
        # pre-2025 select parsing), which then read its text as markup (found by fuzzing): written
        # back as <pre> with escaped text, every parser reads the same text.
        add(Site(node, None, "object", "<xmp>", always="policy:xmp-as-pre"))
        return None
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
        elif name == "background" and _NOT_URL_SHAPED.search(value.strip()):
            add(Site(node, name, "image", where, url=value, always="policy:background-not-a-url"))
            continue
        elif name == "srcdoc":
            add(Site(node, name, "frame", where, always="policy:no-srcdoc"))
            continue
        kind = ("media" if (tag in MEDIA_TAGS and name != "poster")   # a poster is a still image: proxied like one
                or (tag == "source" and (node.parent is None or node.parent.tag != "picture")) else "image")
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
        if site.attr == "background":
            keep_text_readable(site.node)


# A mid grey that both white and black text read on (contrast 4.5:1 and 4.6:1): the stand-in
# for a removed background image behind light text, when the template set no colour of its own.
FALLBACK_BACKGROUND = "#767676"
_BG_COLOR = re.compile(r"background(?:-color)?\s*:\s*(?!none|transparent|url|initial|inherit)[#\w(]", re.I)
_COLOR_DECL = re.compile(r"(?:^|;|\s)color\s*:\s*([^;!]+)", re.I)
_NAMED_LIGHT = {"white", "snow", "ivory", "ghostwhite", "whitesmoke", "floralwhite", "azure", "mintcream",
                "aliceblue", "honeydew", "seashell", "linen", "beige", "lightyellow", "lightcyan", "oldlace"}


def _is_light(value: str) -> bool:
    v = value.strip().lower()
    if v in _NAMED_LIGHT:
        return True
    m = re.fullmatch(r"#([0-9a-f]{3}|[0-9a-f]{6})", v)
    if m:
        h = m.group(1)
        rgb = [int(c * 2, 16) for c in h] if len(h) == 3 else [int(h[i:i + 2], 16) for i in (0, 2, 4)]
    else:
        m = re.fullmatch(r"rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+).*\)", v)
        if not m:
            return False
        rgb = [min(int(x), 255) for x in m.groups()]
    r, g, b = (c / 255 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.6


_SHORTHAND_COLOR = re.compile(r"background\s*:[^;]*?(#[0-9a-f]{3,8}\b|rgba?\([^)]*\)|hsla?\([^)]*\))", re.I)


def keep_text_readable(node: LexborNode, before: str = "") -> None:
    """After a background image is removed: keep the colour the template gave with it (in a
    ``background:`` shorthand that went with the URL), else, if the element's text is light
    (white text on a photo), give it a mid-grey background so the text does not vanish."""
    attrs = node.attrs
    style = attrs.get("style") or ""
    if attrs.get("bgcolor") or _BG_COLOR.search(style):
        return
    m = _SHORTHAND_COLOR.search(before)
    if m:
        attrs["style"] = f"background-color:{m.group(1)};" + style
        return
    light = False
    for n in [node, *node.traverse(include_text=False)]:
        if n.tag is None or not n.tag[0].isalpha():   # comments
            continue
        a = n.attrs
        m = _COLOR_DECL.search(a.get("style") or "")
        colour = m.group(1) if m else (a.get("color") if n.tag == "font" else None)
        if colour:
            light = _is_light(colour)
            break
    if light:
        attrs["style"] = f"background-color:{FALLBACK_BACKGROUND};" + style


def remove_element(site: Site) -> None:
    site.node.decompose()


def _del_attr(node: LexborNode, name: str) -> None:
    try:
        del node.attrs[name]
    except KeyError:
        pass


def set_attr(site: Site, value: str) -> None:
    site.node.attrs[site.attr] = value


def xmp_to_pre(site: Site) -> None:
    """Replace an ``<xmp>`` by a ``<pre>`` holding its text, escaped when serialised."""
    node = site.node
    pre = LexborHTMLParser("<pre></pre>").css_first("pre")
    node.insert_before(pre)
    # Leading newlines go: a parser drops the first one after <pre>, and lexbor's serializer does not
    # write the extra one back, so they would shrink on every round (the output must be a fixed point).
    text = (node.text(deep=True) or "").lstrip("\r\n")
    new = node.prev
    if new is not None and new.tag == "pre":
        if text:
            new.insert_child(text)
        node.decompose()


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
        if site.attr == "style" and "url(" in (site.css or "").lower() and "url(" not in text.lower():
            keep_text_readable(node, site.css or "")
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
    # inline-block: an <img> without a source is an inline box that ignores width and height
    box = ("display:inline-block;box-sizing:border-box;overflow:hidden;vertical-align:top;"
           "border:1px dashed #999;color:#666;font:12px sans-serif;background:#f4f4f4;")
    if site.width and site.width > 2:
        box += f"width:{int(site.width)}px;"
    if site.height and site.height > 2:
        box += f"height:{int(site.height)}px;"
    attrs["style"] = box + style
    if not attrs.get("alt"):
        attrs["alt"] = "[remote image blocked]"
