"""Issue 13 §3: named signals for unlisted hosts, hidden-ness and size from the template's <style>,
and no guilt by association. Behaviour a reader notices: which image goes, which stays, and why."""
from __future__ import annotations

import pytest

from tracker_block import Options, clean_html
from tracker_block.engine.heuristics import BLOCK_SCORE, SCORES
from tracker_block._core import css_full_structure as _full_structure, css_light_structure as _light_structure

SENDER = "news@bakery-example.com"


def removed(doc: str, sender: str | None = SENDER) -> dict[str, str]:
    res = clean_html(doc, Options(), recipients=("maria@example.org",), sender=sender)
    return {f.url: f.reason for f in res.findings if f.action == "removed"}


@pytest.mark.parametrize("signal", ["tracking-filename", "impression-endpoint", "query-id", "account-message-ids",
                                    "tracking-subdomain", "opaque-token", "tracking-path-weak", "tracking-path"])
def test_no_url_signal_blocks_alone(signal):
    assert SCORES[signal] < BLOCK_SCORE


@pytest.mark.parametrize("url", [
    "https://www.bakery-example.com/images/open.gif",              # a name, nothing per-reader: kept
    "https://click.bakery-example.com/images/logo.png",            # a tracking subdomain, a plain file
    "https://www.bakery-example.com/assets/5521/88017/hero.jpg",   # ids in the path alone
    "https://cdn.bakery-example.com/img/hero.jpg?v=1699999999",    # a version query
])
def test_one_weak_signal_keeps_the_image(url):
    assert removed(f'<img src="{url}" width="600" height="300">') == {}


@pytest.mark.parametrize("url,signal", [
    ("https://www.bakery-example.com/images/open.gif?u=88123&m=5521", "tracking-filename"),
    ("https://click.bakery-example.com/v1/Zx81KqPm3Ls9Wd2Rt7Yh4Nb6", "tracking-subdomain"),
    ("https://stats.bakery-example.com/imp?idsite=3&uid=5iVY5onwp7", "impression-endpoint"),
    ("https://news.bakery-example.com/open/1/5521/88017/p19FQBJ", "account-message-ids"),
])
def test_signals_add_up_and_are_named(url, signal):
    got = removed(f'<img src="{url}" width="600" height="300">')
    assert signal in got.get(url, ""), got


def test_tracking_subdomain_counts_only_for_the_senders_own_domain():
    url = "https://click.bakery-example.com/v1/Zx81KqPm3Ls9Wd2Rt7Yh4Nb6"
    assert url in removed(f'<img src="{url}">')
    assert removed(f'<img src="{url}">', sender="news@other-example.net") == {}


MOBILE = ("<style>@media only screen and (max-width:600px){.mobile-only{display:block!important;"
          "max-height:none!important}}</style>")


def test_mobile_alternate_hidden_inline_and_shown_by_media_is_kept():
    img = '<img class="mobile-only" src="https://cdn.bakery-example.com/m.jpg" style="display:none;max-height:0">'
    assert removed(img) != {}                  # hidden everywhere without the template's rule
    assert removed(MOBILE + img) == {}         # shown at narrow widths: content


def test_a_show_rule_without_important_does_not_beat_an_inline_display_none():
    sheet = "<style>@media (max-width:600px){.m{display:block}}</style>"
    img = '<img class="m" src="https://cdn.bakery-example.com/m.jpg" style="display:none">'
    assert removed(sheet + img) != {}


def test_dark_mode_alternate_and_outlook_dark_selector_are_kept():
    img = '<img class="dark-img" src="https://cdn.bakery-example.com/logo-dark.png" style="display:none">'
    assert removed("<style>@media (prefers-color-scheme: dark){.dark-img{display:block!important}}</style>" + img) == {}
    assert removed("<style>[data-ogsc] .dark-img{display:block!important}</style>" + img) == {}


def test_hidden_by_class_and_by_ancestor_class_is_removed():
    url = "https://cdn.bakery-example.com/x.png"
    assert url in removed(f'<style>.h{{display:none!important}}</style><img class="h" src="{url}">')
    assert url in removed(f'<style>div.g{{visibility:hidden}}</style><div class="g"><img src="{url}"></div>')
    # a hiding rule only at print or mobile width leaves it shown on screen
    assert removed(f'<style>@media print{{.h{{display:none}}}}</style><img class="h" src="{url}">') == {}


def test_size_comes_from_css_classes_too():
    url = "https://cdn.bakery-example.com/product.jpg"
    assert url in removed(f'<img src="{url}" width="0" height="0">')
    assert removed(f'<style>.f{{width:600px!important;height:auto!important}}</style>'
                   f'<img class="f" src="{url}" width="0" height="0">') == {}
    assert url in removed(f'<style>img.px{{width:1px;height:1px}}</style><img class="px" src="{url}">')


def test_srcset_candidates_carry_the_elements_evidence():
    url = "https://cdn.bakery-example.com/a.png"
    got = removed(f'<style>.h{{display:none!important}}</style><img class="h" srcset="{url} 1x, {url}?2 2x">')
    assert url in got and "hidden-image" in got[url]


def test_an_image_on_a_host_listed_whole_is_judged_on_its_url():
    # dmtrk.net is listed as a tracking host (Dotdigital): it also serves the template's photos
    photo = "https://r1.dmtrk.net/5f3a/images/hero.jpg"
    pixel = "https://r1.dmtrk.net/5f3a/o.gif?c=4412087&r=Kx7Qe2Lr9Zt4Wv1Yb6Nm3Ps8"
    got = removed(f'<img src="{photo}" width="600" height="300"><img src="{pixel}" width="1" height="1">')
    assert pixel in got and photo not in got
    assert photo in removed(f'<img src="{photo}" width="1" height="1">')           # the same file as a pixel goes
    assert photo + "?r=88" in removed(f'<img src="{photo}?r=88" width="600">')    # so does a per-load query


def test_light_css_reading_matches_tokeniser():
    sheet = ("/* c */ @import url(x.css); .a,.b > img{display:none!important;width:0} @font-face{font-family:x;src:u}"
             "@media only screen and (max-width:600px){ .m{display:block !important} @supports (x:y){.n{opacity:0}} }"
             ".z:hover{max-height:none}")
    light = [(c, s.strip(), d) for c, s, d in _light_structure(sheet)]
    assert light == [(c, s.strip(), d) for c, s, d in _full_structure(sheet)]
    assert _light_structure('.a{content:"{"}') is None   # strings go to the tokeniser


def test_rules_check_lists_every_url_signal():
    from tracker_block.engine.rules import load_rules
    from tracker_block.cli.rules_cli import explain
    info = explain("https://stats.bakery-example.com/imp?idsite=3&uid=5iVY5onwp7", load_rules())
    assert {"impression-endpoint", "query-id"} <= set(info["heuristic_signals"])
    assert info["as_image"]["reason"] == "heuristic:tracking-path+impression-endpoint+query-id"
    # a Matomo beacon is now named by the project's own filter list first; its signals still show
    info = explain("https://stats.bakery-example.com/piwik.php?idsite=3&rec=1&_id=5iVY5onwp7", load_rules())
    assert {"impression-endpoint", "query-id"} <= set(info["heuristic_signals"])
    assert info["as_image"]["reason"].startswith("list:tracker-block/")


def test_vml_and_outlook_images_carry_their_size():
    pixel, hero = "https://cdn.bakery-example.com/a.png", "https://cdn.bakery-example.com/b.png"
    doc = (f'<!--[if mso]><v:image src="{pixel}" style="width:1px;height:1px" />'
           f'<img src="{hero}" width="600" height="300"><![endif]-->')
    got = removed(doc)
    assert "tiny-image" in got.get(pixel, "") and hero not in got
