"""The plain-style fast path of css.clean_declarations must read and rewrite exactly like the tokenising path."""
from __future__ import annotations

import pytest

from tracker_block.engine import css
from tracker_block import _core

STYLES = [
    "background:url('https://cdn.shop.test/hero.jpg') center / cover no-repeat #123c69;background-size:cover",
    "height:1px;line-height:1px;background-image:url(https://t.test/wf/open?upn=1);",
    "a:b;BACKGROUND:URL( \"https://t.test/x.gif\" )",
    "background:url(https://cdn.shop.test/a.png), url(https://t.test/b.gif);color:red",
    "background:url(https://t.test/b.gif) , url(https://cdn.shop.test/a.png)",
    "background:url(data:image/png;base64,AAAA);border:none",
    "list-style:url(https://t.test/l.gif) inside;cursor:url(https://t.test/c.cur), auto",
    "background:url(https://t.test/1.gif);background:url(https://t.test/1.gif)",
    # not plain: the tokeniser reads these
    "background:image-set('https://t.test/s.gif' 1x)",
    "background:u\\72l(https://t.test/e.gif)",
    "background:url(https://cdn.shop.test/a.png)/*x*/;b:url(https://t.test/k.gif)",
]
JUDGES = {
    "keep": lambda url: None,
    "block-tracker": lambda url: False if "t.test" in url else None,
    "proxy-all": lambda url: "https://proxy.test/p/" + url[-5:],
    "proxy-content-block-tracker": lambda url: False if "t.test" in url else "https://proxy.test/p/x",
}


def _run(style: str, decide, fast: bool) -> tuple[str | None, list[tuple[str, str, str]]]:
    calls: list[tuple[str, str, str]] = []

    def judge(url: str, kind: str, where: str):
        calls.append((url, kind, where))
        return decide(url)

    if fast:
        return css.clean_declarations(style, judge), calls
    return _core.css_clean_declarations(style, judge, False), calls


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("judge_name", sorted(JUDGES))
def test_plain_fast_path_matches_tokeniser(style: str, judge_name: str) -> None:
    decide = JUDGES[judge_name]
    assert _run(style, decide, True) == _run(style, decide, False)


def test_plain_reader_sees_every_url_or_gives_up() -> None:
    assert _core.css_plain_urls(STYLES[3]) == [("background", ["https://cdn.shop.test/a.png", "https://t.test/b.gif"])]
    assert _core.css_plain_urls(STYLES[5]) == [("background", ["data:image/png;base64,AAAA"])]
    for style in STYLES[8:]:
        assert _core.css_plain_urls(style) is None, style


RANGE_DOC = ("<html><head><style>.t{background:url(https://cdn.example.com/bg.png)}"
             " @media (width < 5000px){#m{color:rgb(1, 2, 3)}} @media (5000px <= width){#m{color:rgb(9, 9, 9)}}"
             "</style></head><body><p id=m class=t>x</p><svg><style>.u{fill:red}</style></svg></body></html>")


def test_a_rewritten_sheet_keeps_its_media_query_ranges_in_chromium(browser) -> None:
    """A sheet rewritten because it loads something (here `--remote all` removes its url()) keeps a
    Media Queries 4 range working: its `<` stays a `<` (before, written `\\3c `, the query was
    invalid and the rule was lost), and nothing in it can open a tag or end the <style>."""
    from tracker_block import Options, clean_html

    out = clean_html(RANGE_DOC, Options(mode="all")).html
    sheet = out[out.index("<style>") + 7:out.index("</style>")]
    assert "url(" not in sheet and "(width < 5000px)" in sheet and "(5000px <= width)" in sheet
    colour = "getComputedStyle(document.getElementById('m')).color"
    assert browser.evaluate(RANGE_DOC, colour) == "rgb(1, 2, 3)"
    assert browser.evaluate(out, colour) == "rgb(1, 2, 3)"
    assert browser.render(out) == set()
