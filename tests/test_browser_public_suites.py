"""Techniques of two public suites nobody on this project wrote, as our own fixtures, judged by Chromium.

``tests/vectors/public/`` holds one fixture per technique of Email Privacy Tester (its remote-load
tests: audio, video, sources, poster, SVG, CSS content / cursor / fonts) and of Roundcube's HTML
washer tests (``tests/Framework/Washtml.php``: SVG ``feImage``/``use``/``foreignObject``, ``data:``
documents, SMIL, MathML/area ``href``, ``background=`` injection, IE ``expression()``/``behavior``),
written for this project (each file names its technique). The URLs are honest-looking content hosts,
not known trackers: what is tested is the policy, that in every mode every remote load other than a
visible image goes, and nothing executable survives.

Each fixture is rendered from the https: webmail origin (``browser.ORIGIN``) in three variants:

- the original must fire its loads (so the fixture is real) — or, for techniques Chromium cannot
  run (IE-only CSS, clicks on ``javascript:``), the static readers must see them in its markup;
- the ``--remote all`` output fires nothing, and no reader finds a remote or executable reference;
- the ``--remote trackers`` output fires only the fixture's visible content images (the sentinel
  logo every fixture ends with, which must still load: the policy is not "block everything"), and
  no non-image load or executable content is left in its markup;
- both modes report each load as removed, with a policy reason.

A cleaned variant that fires nothing could pass falsely if Chromium skipped a fetch: every cleaned
variant is therefore also read statically (``remote_refs``: lxml + lexbor, CSS with tinycss2 and a
regex reader; ``data:`` documents decoded), and CSS-only fixtures are rendered twice.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

from browser import Browser, fired, hosts, remote_refs
from tracker_block import Options, clean_html

DIR = Path(__file__).parent / "vectors" / "public"
SENTINEL = "https://images.shop.test/sentinel.png"
M, C, F = "https://media.shop.test", "https://cdn.shop.test", "https://fonts.shop.test"


def X(case: str) -> str:
    """The URL an executed payload requests."""
    return f"https://xss.shop.test/ran?c={case}"


@dataclass(frozen=True)
class P:
    loads: tuple[str, ...]               # what the original makes Chromium request (decoded)
    content: tuple[str, ...] = ()        # visible content images that may load in mode trackers
    click: str | None = None             # elements to click after load
    headless: str | None = None          # why Chromium cannot fire it (None: it does)
    css_only: bool = False               # fetched at style resolution: rendered twice


CASES: dict[str, P] = {
    "audio_src_autoplay": P((M + "/jingle.mp3",)),
    "audio_source": P((M + "/jingle.ogg",)),
    "video_src": P((M + "/clip.mp4",)),
    "video_source_types": P((M + "/clip.mp4", M + "/clip.webm", M + "/clip.ogv")),
    "video_poster_and_src": P((M + "/promo.mp4",), content=("https://images.shop.test/poster.jpg",)),
    "video_protocol_relative": P((M + "/rel.mp4",)),
    "svg_image_xlink_content": P((C + "/chart.png",)),
    "svg_feimage_href": P((C + "/texture.png",)),
    "svg_feimage_xlink": P((C + "/texture2.png",)),
    "svg_fill_url": P((C + "/paint.svg",)),
    "css_cursor_var_fallback": P((C + "/hand.png",), css_only=True),
    "css_content_url": P((C + "/badge.png",), css_only=True),
    "css_font_face": P((F + "/brand.woff2",), css_only=True),
    "css_border_image": P((C + "/frame.png",), css_only=True),
    "css_mask_image": P((C + "/mask.png",), css_only=True),
    "css_shape_outside": P((C + "/shape.png",), css_only=True),
    "css_behavior_htc": P((C + "/x.htc",), headless="behavior is IE-only"),
    "css_moz_binding": P((C + "/x.xml",), headless="XBL bindings were Gecko-only and are gone"),
    "css_expression_url": P((X("expr-url"),), headless="expression() is IE-only"),
    "css_expression_style_block": P((), headless="expression() is IE-only"),
    "css_expression_brace_attr": P((), headless="expression() is IE-only"),
    "css_expression_comment_split": P((), headless="expression() is IE-only"),
    "css_escaped_expression": P((), headless="expression() is IE-only"),
    "data_svg_use_javascript": P((), headless="Blink refuses data: URLs in <use>; the payload needs a click"),
    "data_svg_use_base64": P((), headless="Blink refuses data: URLs in <use>; the payload needs a click"),
    "data_svg_use_spaced_type": P((), headless="Blink refuses data: URLs in <use>"),
    "data_foreignobject_xml_script": P((), headless="foreignObject has no href in Blink (old Firefox read it)"),
    "svg_script_href_data": P((X("svg-script"),)),
    "img_data_svg_onload": P((), headless="an SVG shown as an image runs no script (secure static mode)"),
    "css_import_data_css": P((C + "/imported.png",), css_only=True),
    "body_background_css_injection": P((), headless="a browser reads background= as one URL; clients that paste "
                                                    "it into CSS (the Roundcube CVE) fetch the //host URL"),
    "body_background_javascript": P((), headless="javascript: backgrounds ran in old IE only"),
    "svg_set_onmouseover": P((), headless="Blink refuses SMIL on event-handler attributes"),
    "svg_animate_href_javascript": P((), headless="needs a click on an animated javascript: link"),
    "math_href_javascript": P((), headless="MathML href is a link in Gecko only"),
    "area_href_data_html": P((), content=("https://images.shop.test/map.png",),
                             headless="top-level data: navigations are blocked in Blink"),
}

NAMES = sorted(CASES)
MODES = ("all", "trackers")
_DATA_URL = re.compile(r"data:[^\"'\s>)]*", re.I)
_EXEC_IN_DOC = re.compile(r"javascript:|vbscript:|<\s*script|\son\w+\s*=|<\s*foreignobject|expression\s*\(", re.I)


def original(name: str) -> str:
    return (DIR / f"{name}.html").read_text(encoding="utf-8")


def cleaned(name: str, mode: str) -> str:
    return clean_html(original(name), Options(mode=mode)).html


def executable_refs(html: str) -> list[str]:
    """Executable content a static reader finds: script URLs, handlers, expression()/behavior/-moz-binding
    (via ``remote_refs``), and script inside ``data:`` documents (decoded: percent or base64)."""
    out = [r for r in remote_refs(html) if "exec:" in r or "handler" in r or "script:" in r.lower()]
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    values = [v or "" for n in (tree.root.traverse() if tree.root else ()) for v in n.attributes.values()]
    values += [n.text() or "" for n in tree.css("style")]
    for m in _DATA_URL.finditer(" ".join(values)):
        url = m.group(0)
        head, _, body = url.partition(",")
        text = unquote(body)
        if ";base64" in head.lower():
            try:
                text = base64.b64decode(re.sub(r"[^A-Za-z0-9+/=]", "", body) + "==", validate=False).decode("latin-1")
            except ValueError:
                text = ""
        if _EXEC_IN_DOC.search(text) or _EXEC_IN_DOC.search(head):
            out.append(f"data document: {url[:80]}")
    # background= must be a URL, nothing a client could paste into CSS and read as more
    out += [f"background= not a URL: {v}" for v in re.findall(r'background="([^"]*)"', html)
            if re.search(r"[\s()'\";\\]", v)]
    return out


def test_every_fixture_has_a_case() -> None:
    assert {p.stem for p in DIR.glob("*.html")} == set(CASES)


@pytest.fixture(scope="module")
def rendered(browser: Browser) -> dict[tuple[str, str], set[str]]:
    keys, docs, clicks, again = [], [], [], []
    for name in NAMES:
        for variant in ("original",) + MODES:
            keys.append((name, variant))
            docs.append(original(name) if variant == "original" else cleaned(name, variant))
            clicks.append(CASES[name].click)
            again.append(CASES[name].css_only)
    first = browser.render_many(docs, click=clicks)
    # CSS-only fixtures once more: a fetch skipped on one run must not make a cleaned variant pass
    idx = [i for i, a in enumerate(again) if a]
    for i, got in zip(idx, browser.render_many([docs[i] for i in idx], click=[clicks[i] for i in idx])):
        first[i] |= got
    return dict(zip(keys, first))


@pytest.mark.parametrize("name", NAMES)
def test_original_fires(name: str, rendered: dict[tuple[str, str], set[str]]) -> None:
    case, got = CASES[name], rendered[name, "original"]
    assert fired(got, SENTINEL), f"{name}: the sentinel image never loaded: {sorted(got)}"
    if case.headless is None:
        missing = [u for u in case.loads if not fired(got, u)]
        assert not missing, f"fixture {name} is not real: {missing} never requested; got {sorted(got)}"
    else:
        # Chromium cannot run it (see P.headless): the readers must see it in the markup instead,
        # and Chromium must indeed stay silent about it (if it starts firing, make it a live case).
        found = remote_refs(original(name)) + executable_refs(original(name))
        assert found, f"{name}: no reader sees the technique"
        for u in case.loads:   # the URL itself, or the executable CSS that would fetch it
            assert any(u.split("//", 1)[1].split("/", 1)[0] in r or "exec:" in r for r in found), (name, u, found)
        assert not [u for u in got if hosts([u]) & hosts(case.loads)], f"{name} now fires headless: {sorted(got)}"


@pytest.mark.parametrize("name", NAMES)
def test_mode_all_fires_nothing(name: str, rendered: dict[tuple[str, str], set[str]]) -> None:
    assert rendered[name, "all"] == set(), f"{name}: --remote all output fetched {sorted(rendered[name, 'all'])}"
    html = cleaned(name, "all")
    assert remote_refs(html) == [] and executable_refs(html) == [], (name, remote_refs(html), executable_refs(html))


@pytest.mark.parametrize("name", NAMES)
def test_mode_trackers_fires_only_visible_images(name: str, rendered: dict[tuple[str, str], set[str]]) -> None:
    case = CASES[name]
    allowed = (SENTINEL,) + case.content
    got = rendered[name, "trackers"]
    extra = sorted(u for u in got if not any(fired([u], a) for a in allowed) and not hosts([u]) <= hosts(allowed))
    assert not extra, f"{name}: --remote trackers output fetched a non-image load: {extra}"
    assert fired(got, SENTINEL), f"{name}: the visible content image no longer loads: {sorted(got)}"
    html = cleaned(name, "trackers")
    left = [r for r in remote_refs(html) if not any(a in r for a in allowed)]
    assert not left and not executable_refs(html), (name, left, executable_refs(html))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", NAMES)
def test_each_load_is_reported_removed(name: str, mode: str) -> None:
    case = CASES[name]
    findings = clean_html(original(name), Options(mode=mode)).findings
    for url in case.loads:
        host = url.split("//", 1)[1].split("/", 1)[0]
        ok = [f for f in findings if f.action == "removed" and host in (f.url or "") + (f.detail or "")
              and f.reason.startswith("policy:")]
        assert ok, f"{name} ({mode}): {url} not reported removed by policy; got " + "; ".join(
            f"{f.kind} {f.action} {f.reason} {f.url}" for f in findings)
    if not case.loads:   # executable content without a fetch: reported as removed script/content
        assert [f for f in findings if f.action == "removed" and f.reason.startswith("policy:")], (
            f"{name} ({mode}): nothing reported; got {[(f.kind, f.reason) for f in findings]}")


def test_https_origin_sees_protocol_relative_loads(browser: Browser) -> None:
    """The reason for the https origin: a //host load that file:// rendering never fetched."""
    doc = '<!doctype html><body><img src="//cdn.shop.test/rel.png" width="50" height="20" alt="x"></body>'
    assert fired(browser.render(doc), "https://cdn.shop.test/rel.png")
    assert browser.render(doc, origin="file") == set()   # the old harness: the leak was invisible
