"""Hostile markup: the cleaner must not be fooled where its parser and a browser's disagree.

Each case is a hostile fragment (mutation XSS, raw-text tricks, foreign content,
dangling markup, NUL bytes, entity and whitespace tricks, conditional comments,
<base> games...) written for this project from the techniques catalogued by
public collections (cure53's HTML5 Security Cheatsheet, DOMPurify's and
ammonia's test suites, the RSnake list), with tracking pixels inside and after
it. Chromium renders the cleaned output behind the recording proxy:
``mode="trackers"`` must fetch no tracker, ``mode="all"`` must fetch nothing.
A property test then generates hostile markup around trackers and checks the
same invariant by re-parsing the output with two parsers (lxml and lexbor), and
in Chromium for a bounded sample.
"""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from browser import Browser, fired, hosts, remote_refs
from tracker_block import Options, clean_html

TRACKER_HOSTS = {"mandrillapp.com", "shop.us1.list-manage.com", "t.hubspotemail.net"}


def pixel(tag: str, n: int = 0) -> str:
    """A known-tracker open URL unique to one case (Mandrill's open pixel shape)."""
    return f"http://mandrillapp.com/track/open.php?u={tag}&id={n}"


LM = "https://shop.us1.list-manage.com/track/open.php?u=1&id=2&e="

# name -> (fragment with {P} for a tracker URL, selector to click or None).
# Every document also ends with a plain tracking pixel after the fragment.
HOSTILE: dict[str, tuple[str, str | None]] = {
    # mutation XSS / raw text inside attributes
    "noscript_title_breakout": ('<noscript><p title="</noscript><img src={P}>"></noscript>', None),
    "noscript_style_breakout": ('<noscript><style></noscript><img src="{P}"></style></noscript>', None),
    "textarea_breakout": ('<textarea><p title="</textarea><img src={P}>"></textarea>', None),
    "textarea_sloppy_end": ('<textarea></textarea/x ><img src="{P}">', None),
    "title_in_body": ('<title><img src="{P}"></title ><img src="{P}">', None),
    "xmp_breakout": ('<xmp><p title="</xmp><img src={P}>"></xmp>', None),
    "plaintext": ('<plaintext><img src="{P}">', None),
    "style_breakout": ('<style>/*</style><img src="{P}">*/</style>', None),
    "style_in_attr": ('<div title="<style>"><img src="{P}"></div>', None),
    "iframe_raw_text": ('<iframe><img src="{P}"></iframe><img src="{P}">', None),
    "noembed_noframes": ('<noembed><img src="{P}"></noembed><noframes><img src="{P}"></noframes>', None),
    "template_inert": ('<template><img src="{P}"></template>', None),
    # comments
    "comment_abrupt": ('<!--><img src="{P}">-->', None),
    "comment_abrupt_dash": ('<!---><img src="{P}">-->', None),
    "comment_bang_close": ('<!-- x --!><img src="{P}"> -->', None),
    "comment_unclosed": ('<p>hi<!-- <img src="{P}">', None),
    "conditional_comment": ('<!--[if]><img src="{P}"><![endif]-->', None),
    "conditional_mso": ('<!--[if gte mso 9]><v:image src="{P}"/><![endif]--><!--[if !mso]><!--><img src="{P}"><!--<![endif]-->', None),
    "conditional_mso_href": ('<!--[if mso]><link rel="stylesheet" href="{P}"><svg><image href="{P}"/></svg><![endif]-->', None),
    "downlevel_revealed": ('<![if !mso]><img src="{P}"><![endif]>', None),
    # found by the Chromium property test: lexbor reads an unterminated CDATA as text to EOF, Chromium
    # (after this prefix) does not; the engine must hand the client its own, unambiguous serialization
    "math_cdata_unterminated": ('</b></svg>&lt;</script><math><![CDATA[<<a title=""></noscript><img src="{P}">', None),
    "bogus_comment_cdata": ('<![CDATA[<img src="{P}">]]><img src="{P}">', None),
    "processing_instruction": ('<?xml version="1.0"?><?x <img src="{P}">?><img src="{P}">', None),
    # foreign content
    "svg_p_style_confusion": ('<svg></p><style><a title="</style><img src={P}>"></style></svg>', None),
    "math_mglyph_style": ('<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;img src={P}&gt;"></style></mglyph></table></mtext></math>', None),
    "form_math_confusion": ('<form><math><mtext></form><form><mglyph><style></math><img src="{P}">', None),
    "svg_cdata": ('<svg><![CDATA[</svg><img src="{P}">]]></svg><img src="{P}">', None),
    "svg_foreignobject": ('<svg><foreignObject><img src="{P}"></foreignObject><image href="{P}"/></svg>', None),
    "svg_style_import": ('<svg><style>@import "{P}";</style><style>svg{{background:url({P})}}</style></svg>', None),
    "svg_xlink_uppercase": ('<svg xmlns:xlink="http://www.w3.org/1999/xlink"><IMAGE XLINK:HREF="{P}" width=1 height=1 /></svg>', None),
    "math_href": ('<math><mi href="{P}">x</mi><maction actiontype="statusline" xlink:href="{P}">y</maction></math>', None),
    # dangling markup / unterminated
    "dangling_img_single": (f"<img src='{LM}dangling<p>secret: reset token 8812</p><b title='x'>", None),
    "dangling_img_double": (f'<img src="{LM}dq&x=<p>secret</p>">', None),
    "unterminated_tag_eof": ('<img src="{P}"', None),
    "backtick_value": ('<img src=`{P}`>', None),
    # nesting
    "nested_forms": ('<form action="{P}"><form action="{P}"><input type="image" id="go" src="{P}"></form></form>', "#go"),
    "table_foster": ('<table><img src="{P}"><tr><td background="{P}">x</td></tr></table>', None),
    "select_content": ('<select><option><img src="{P}"></option></select>', None),
    "after_html": ('</body></html><img src="{P}"><link rel=stylesheet href="{P}">', None),
    # entity, case, whitespace and URL-parser tricks
    "entity_scheme": ('<img src="&#x68;ttps&colon;//shop.us1.list-manage.com/track/open.php?u=1&amp;id=2&amp;e=ent">', None),
    "entity_javascript_link": ('<a id="go" href="&#x6a;avascript:new Image().src=\'{P}\'">x</a>', "#go"),
    "tab_newline_in_scheme": ('<img src="ht&#9;tp&#10;://mandrillapp.com/track/open.php?u=tab&id=1">', None),
    "backslashes": ('<img src="http:\\\\mandrillapp.com\\track\\open.php?u=bs&amp;id=1">', None),
    "scheme_no_slashes": ('<img src="http:mandrillapp.com/track/open.php?u=noslash&amp;id=1">', None),
    "leading_space_upper": ('<IMG SRC="  \n{P}" ALT>', None),
    "unquoted_slash": ('<img/src={P} alt=x><img src={P}/ >', None),
    "attr_whitespace": ('<img\nsrc\t=\t"{P}"\n>', None),
    "duplicate_src": ('<img src="cid:logo" src="{P}"><img src="{P}" src="cid:logo">', None),
    "nul_in_tag": ('<im\x00g src="{P}"><img s\x00rc="{P}"><img src="{P}\x00">', None),
    "nul_in_scheme": ('<img src="ht\x00tp://mandrillapp.com/track/open.php?u=nul&amp;id=1">', None),
    "srcset_mixed": ('<img srcset="data:image/gif;base64,R0lGODlhAQABAAAAACw= 2x, {P} 1x">', None),
    # CSS tricks
    "css_escapes_everywhere": ('<p style="background:\\000075\\72 l({P})">a</p><p style="background:u\\rl({P})">b</p>', None),
    "css_unclosed_url": ('<p style="background:url({P}">a</p><style>p{{background:url({P}</style>', None),
    "css_import_comment": ('<style>@import/**/"{P}";</style>', None),
    "css_nested_escape_import": ('<style>@\\0069\\6d port url({P});</style>', None),
    "css_image_set_string": ('<p style="background-image:image-set(\'{P}\' 1x)">x</p>', None),
    # one escaped declaration name holding ";background:url(...);x": written back unescaped it became
    # a declaration of its own (the Python CSS cleaner did that once a tracker in the style was removed)
    "css_escaped_declaration_name": ('<p style="background:url({P});' + "".join(
        c if c.isalnum() else f"\\{ord(c):x} " for c in f";background:url({pixel('css_escaped_declaration_name', 2)});x")
        + ':red">x</p>', None),
    # base games
    "base_then_relative": ('<base href="http://mandrillapp.com/track/"><img src="open.php?u=base&amp;id=1">', None),
    "base_protocol_relative": ('<base href="//mandrillapp.com/track/"><img src="open.php?u=base2&amp;id=1">', None),
    "base_in_body_upper": ('<p>x</p><BASE HREF=" http://mandrillapp.com/track/ "><img src="open.php?u=base3&amp;id=1">', None),
    "base_entity": ('<base href="http&#58;//mandrillapp.com/track/"><img src="open.php?u=base4&amp;id=1">', None),
    # handlers and scripts
    "handler_onerror": ('<img src="x" onerror="new Image().src=\'{P}\'"><svg><animate onbegin="new Image().src=\'{P}\'" attributeName="x" dur="1s"/></svg>', None),
    "script_in_svg": ('<svg><script href="{P}"></script><script>new Image().src="{P}"</script></svg>', None),
    "meta_refresh_body": ('<meta http-equiv="Refresh" content="0;URL=\'{P}\'">', None),
}


def document(name: str, fragment: str) -> str:
    n = iter(range(1, 100))
    body = fragment.replace("{{", "\x01").replace("}}", "\x02")
    while "{P}" in body:
        body = body.replace("{P}", pixel(name, next(n)), 1)
    body = body.replace("\x01", "{").replace("\x02", "}")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{name}</title></head><body>"
            f"<p>Hello</p>{body}<img src=\"{pixel(name, 99)}\" alt=\"\"></body></html>")


def tracker_fetches(urls: set[str]) -> list[str]:
    return sorted(u for u in urls if hosts([u]) & TRACKER_HOSTS)


NAMES = sorted(HOSTILE)


@pytest.fixture(scope="module")
def hostile_rendered(browser: Browser) -> dict[tuple[str, str], set[str]]:
    keys, docs, clicks = [], [], []
    for name in NAMES:
        frag, click = HOSTILE[name]
        original = document(name, frag)
        keys.append((name, "original"))
        docs.append(original)
        clicks.append(click)
        for mode in ("trackers", "all"):
            keys.append((name, mode))
            docs.append(clean_html(original, Options(mode=mode)).html)
            clicks.append(click)
    return dict(zip(keys, browser.render_many(docs, click=clicks)))


# Originals in which Chromium fetches nothing at all: the rest of the document
# becomes comment, plaintext or <style> raw text. The cleaner must not "repair"
# them into markup that loads.
SILENT_ORIGINALS = {"comment_unclosed", "plaintext", "form_math_confusion"}


@pytest.mark.parametrize("name", NAMES)
def test_hostile_original_is_live(name: str, hostile_rendered: dict[tuple[str, str], set[str]]) -> None:
    """Each uncleaned document really makes Chromium fetch a tracker (so the checks below have teeth)."""
    got = tracker_fetches(hostile_rendered[name, "original"])
    if name in SILENT_ORIGINALS:
        assert not got, f"{name}: expected Chromium to fetch nothing, got {got}"
    else:
        assert got, f"{name}: the uncleaned document fetched no tracker"
    if name == "comment_abrupt":  # '<!-->' is a complete comment in HTML5: the inner pixel loads
        # (from the https origin an http image is auto-upgraded to https: fired() ignores the scheme)
        assert fired(hostile_rendered[name, "original"], pixel(name, 1))


@pytest.mark.parametrize("name", NAMES)
def test_hostile_trackers_mode_fires_no_tracker(name: str, hostile_rendered: dict[tuple[str, str], set[str]]) -> None:
    leaks = tracker_fetches(hostile_rendered[name, "trackers"])
    assert not leaks, f"{name}: mode=trackers output fetched {leaks}"


@pytest.mark.parametrize("name", NAMES)
def test_hostile_all_mode_fires_nothing(name: str, hostile_rendered: dict[tuple[str, str], set[str]]) -> None:
    got = hostile_rendered[name, "all"]
    assert not got, f"{name}: mode=all output fetched {sorted(got)}"


@pytest.mark.parametrize("name", NAMES)
def test_hostile_static_reparse(name: str) -> None:
    """Two other parsers must agree nothing remote is left (catches what Chromium would not fire)."""
    original = document(name, HOSTILE[name][0])
    all_refs = remote_refs(clean_html(original, Options(mode="all")).html)
    assert not all_refs, f"{name}: mode=all output still references {all_refs}"
    tr_refs = [r for r in remote_refs(clean_html(original, Options(mode="trackers")).html)
               if any(h in r for h in TRACKER_HOSTS)]
    assert not tr_refs, f"{name}: mode=trackers output still references {tr_refs}"


# -- property test -------------------------------------------------------------

TOKENS = [
    "<svg>", "</svg>", "<math>", "<mtext>", "<mglyph>", "<mi>", "</math>", "<foreignObject>",
    "<p>", "</p>", "<form>", "</form>", "<table>", "<td>", "<select>", "<template>", "</template>",
    "<style>", "</style>", "<noscript>", "</noscript>", "<textarea>", "</textarea>", "<title>",
    "</title>", "<xmp>", "</xmp>", "<iframe>", "</iframe>", "<noembed>", "</noembed>",
    "<!--", "-->", "--!>", "<!-->", "<![CDATA[", "]]>", "<!--[if mso]>", "<![endif]-->", "<![if !mso]>",
    "<?x ", "?>", "<a title=\"", "\">", "'", "\"", "`", ">", "<", "/", "\x00", "&lt;", "&#x3c;",
    "<b>", "</b>", "<div style=\"", "<base href=\"http://mandrillapp.com/track/\">",
    "</body>", "</html>", "<frameset>", "<object>", "<plaintext>", "<script>", "</script>",
]
PIXELS = [
    "<img src={u}>", "<img src=\"{u}\">", "<img srcset=\"{u} 1x\">", "<image href=\"{u}\"/>",
    "<p style=\"background:url({u})\">x</p>", "<style>@import '{u}';</style>",
    "<table background=\"{u}\"><tr><td>x</td></tr></table>", "<input type=image src=\"{u}\">",
    "<video poster=\"{u}\"></video>", "<link rel=stylesheet href=\"{u}\">",
    "<p style=\"background:\\75 rl({u})\">x</p>", "<img src=\"open.php?u=rel&amp;id=1\">",
]


@st.composite
def hostile_docs(draw: st.DrawFn) -> str:
    parts: list[str] = []
    n_pixels = 0
    for _ in range(draw(st.integers(1, 14))):
        if draw(st.integers(0, 3)) == 0:
            n_pixels += 1
            parts.append(draw(st.sampled_from(PIXELS)).format(u=pixel("prop", n_pixels)))
        else:
            parts.append(draw(st.sampled_from(TOKENS)))
    parts.append(f"<img src=\"{pixel('prop', 99)}\">")
    return "<!doctype html><html><head><title>p</title></head><body>" + "".join(parts)


def _static_invariant(doc: str) -> None:
    all_html = clean_html(doc, Options(mode="all")).html
    assert remote_refs(all_html) == [], (doc, all_html, remote_refs(all_html))
    tr_html = clean_html(doc, Options(mode="trackers")).html
    left = [r for r in remote_refs(tr_html) if any(h in r for h in TRACKER_HOSTS) or "base@" in r]
    assert not left, (doc, tr_html, left)


@settings(max_examples=300, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(hostile_docs())
def test_property_static_reparse(doc: str) -> None:
    _static_invariant(doc)


def test_property_in_chromium(browser: Browser) -> None:
    """A bounded sample of generated hostile documents, rendered in one batch."""
    docs: list[str] = []

    @settings(max_examples=25, deadline=None, database=None, phases=[Phase.generate], derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(hostile_docs())
    def collect(doc: str) -> None:
        docs.append(doc)

    collect()
    rng = random.Random(2)  # plus a few fixed long mixes, so the sample is never trivially short
    for _ in range(5):
        toks = [rng.choice(TOKENS) for _ in range(12)] + [rng.choice(PIXELS).format(u=pixel("mix", 1))]
        docs.append("<!doctype html><body>" + "".join(toks) + f"<img src=\"{pixel('mix', 99)}\">")
    cleaned = [clean_html(d, Options(mode=m)).html for d in docs for m in ("trackers", "all")]
    results = browser.render_many(cleaned)
    failures = []
    for i, doc in enumerate(docs):
        tr, al = results[2 * i], results[2 * i + 1]
        if tracker_fetches(tr) or al:
            failures.append((doc, sorted(tr), sorted(al)))
    assert not failures, failures
