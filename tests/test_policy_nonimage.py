"""Only visible images may load; nothing executable survives; and honest mail is not touched by either rule.

The browser-judged cases are in test_browser_public_suites.py; these are the decisions themselves, per
mode, and the honest markup that must come through byte for byte.
"""
from __future__ import annotations

import base64

import pytest

from tracker_block import Options, clean_html
from tracker_block.engine.dataurl import unsafe_reason
from tracker_block.engine.signing import KeyRing

LOGO = "https://images.shop.test/logo.png"
CLIP = "https://media.shop.test/clip.mp4"


def proxy_options() -> Options:
    return Options(mode="proxy", proxy_base="https://img.example.net/p", keyring=KeyRing((("k1", b"s" * 32),)))


@pytest.mark.parametrize("mode", ["trackers", "all", "proxy"])
def test_video_goes_in_every_mode_its_poster_is_an_image(mode: str) -> None:
    doc = f'<video src="{CLIP}" poster="{LOGO}" width="320" height="180"></video>'
    opts = proxy_options() if mode == "proxy" else Options(mode=mode)
    res = clean_html(doc, opts)
    assert CLIP not in res.html
    [media] = [f for f in res.findings if f.url == CLIP]
    assert (media.action, media.reason) == ("removed", "policy:not-a-visible-image")
    poster = [f for f in res.findings if f.url == LOGO]
    if mode == "trackers":
        assert LOGO in res.html and not poster              # a content image stays
    elif mode == "proxy":
        assert poster[0].action == "proxied" and "img.example.net/p" in res.html
    else:
        assert poster[0].action == "removed" and LOGO not in res.html


def test_visible_image_css_stays_other_css_loads_go() -> None:
    doc = ('<style>.a{background:url(https://images.shop.test/bg.png)} .b{list-style-image:url(https://images.shop.test/dot.png)}'
           ' .c{cursor:url(https://cdn.shop.test/c.png),auto} @font-face{font-family:F;src:url(https://fonts.shop.test/f.woff2)}'
           ' .d{--x:url(https://cdn.shop.test/v.png)}</style><p class="a b c d">x</p>')
    res = clean_html(doc, Options())
    assert "bg.png" in res.html and "dot.png" in res.html
    for gone in ("c.png", "f.woff2", "v.png"):
        assert gone not in res.html
    assert {f.reason for f in res.findings} == {"policy:not-a-visible-image"}
    assert sorted(f.where for f in res.findings) == ["<style>:--x", "<style>:cursor", "<style>:src"]


@pytest.mark.parametrize("doc", [
    '<p style="scroll-behavior:smooth;overscroll-behavior:none;color:red">x</p>',
    '<style>.a{*zoom:1;background:url(https://images.shop.test/bg.png)} .b{behavior-note:none}</style><p class=a>x</p>',
    '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" alt="">',
    '<img src="data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22%3E%3Crect fill=%22url(%23g)%22/%3E%3C/svg%3E">',
    '<table background="https://images.shop.test/bg.png"><tr><td>x</td></tr></table>',
    '<!--[if mso]><v:fill type="frame" src="https://images.shop.test/bg.png" /><![endif]--><p>x</p>',
])
def test_honest_markup_is_untouched(doc: str) -> None:
    res = clean_html(doc, Options())
    assert res.html == doc and not res.findings, (res.html, res.findings)


@pytest.mark.parametrize("url, reason", [
    ("data:image/png;base64,iVBORw0KGgo=", None),
    ("data:,hello", None),
    ("data:font/woff2;base64,d09GMgABAAAA", None),
    ("data:image/svg+xml,<svg><circle r='1'/></svg>", None),
    ("data:image/svg+xml,<svg onload=alert(1)>", "policy:scriptable-data-url"),
    ("data:image/svg+xml;base64," + base64.b64encode(b"<svg><a href='javascript:x()'/></svg>").decode(),
     "policy:scriptable-data-url"),
    ("data:image/svg+xml,<svg><image href='https://t.test/p.gif'/></svg>", "policy:scriptable-data-url"),
    ("data:image/s vg+xml,<svg/>", "policy:scriptable-data-url"),
    ("data:text/html,<script>x</script>", "policy:scriptable-data-url"),
    ("data:text/xml,<x/>", "policy:scriptable-data-url"),
    ("data:text/css,p{}", "policy:scriptable-data-url"),
    ("data:image/svg+xml;base64,!!!notbase64", "policy:scriptable-data-url"),
])
def test_data_urls_are_kept_only_when_inert(url: str, reason: str | None) -> None:
    assert unsafe_reason(url) == reason


@pytest.mark.parametrize("doc", [
    '<p style="{ left:expression(alert(1)) }">x</p>',
    '<p style="width:expr/**/ession(alert(1))">x</p>',
    '<p style="width:e\\78 pression(alert(1))">x</p>',
    '<style>p{behavior:url(x.htc)} a{-moz-binding:url(x.xml#b)}</style><p>x</p>',
    '<!--[if IE]><p style="width:expression(alert(1))">x</p><![endif]--><p>y</p>',
])
@pytest.mark.parametrize("mode", ["trackers", "all"])
def test_executable_css_goes_in_every_mode(doc: str, mode: str) -> None:
    res = clean_html(doc, Options(mode=mode))
    low = res.html.lower().replace("x-expression(", "").replace("x-behavior", "")
    assert "expression(" not in low and "behavior:" not in low and "binding:" not in low, res.html
    assert any(f.kind == "script" and f.action == "removed" for f in res.findings)


@pytest.mark.parametrize("mode", ["trackers", "all"])
def test_a_comment_url_hidden_by_character_references_takes_the_comment(mode: str) -> None:
    doc = '<!--[if mso]><v:image src="h&#116;tp:&#47;&#47;t.shop.test/x"/><![endif]--><p>x</p>'
    res = clean_html(doc, Options(mode=mode))
    assert "t.shop.test" not in res.html and "&#47;" not in res.html
    assert [(f.action, f.reason) for f in res.findings] == [("removed", "policy:hidden-url-in-comment")]


def test_background_attribute_is_a_url_or_nothing() -> None:
    doc = '<table background="data:image/png,x);background:url(//cdn.shop.test/track.gif)"><tr><td>x</td></tr></table>'
    res = clean_html(doc, Options())
    assert "background" not in res.html
    assert [(f.action, f.reason) for f in res.findings] == [("removed", "policy:background-not-a-url")]
