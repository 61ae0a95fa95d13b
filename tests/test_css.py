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
