"""The Adblock Plus matcher as mail needs it, and the shipped EasyPrivacy lists.

Why: filter-list hits remove images and mark links, so the syntax must mean what the list
authors meant (anchors, separators, wildcards, type options), the mail-specific decisions
($third-party always true, domain= inclusions impossible, script-only filters dropped) must
hold, and every shipped filter must be either loaded or listed as dropped with its reason.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tracker_block.engine.detect import Detector
from tracker_block.engine.filterlist import FilterSet, parse, parse_line
from tracker_block.engine.heuristics import Identity
from tracker_block.engine.rules import bundled_lists, load_rules
from tracker_block.cli.rules_cli import main as rules_main
from tracker_block.engine.urls import parts

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


def one(filter_text: str, links: bool = False) -> FilterSet:
    fs = FilterSet()
    fs.add("t.txt", filter_text + "\n", "t", links)
    return fs


def hit(fs: FilterSet, url: str, kind: str = "image") -> bool:
    return fs.match(url, parts(url).host, kind) is not None


@pytest.mark.parametrize("flt, yes, no", [
    ("||track.example^", ["https://track.example/x.gif", "https://a.b.track.example/", "http://track.example:8080/p"],
     ["https://nottrack.example/x", "https://track.example.org/x", "https://example.org/?u=track.example"]),
    ("||cdn.example/px/", ["https://cdn.example/px/1.gif", "https://eu.cdn.example/px/"],
     ["https://cdn.example/pix/1.gif", "https://xcdn.example/px/"]),
    ("/track/open?", ["https://mail.shop.example/track/open?id=1"], ["https://shop.example/track/opened?id=1"]),
    (".sendibt2.com/tr/op/$image", ["https://r.sendibt2.com/tr/op/AbC"], ["https://sendibt2.com/tr/op/AbC"]),
    ("/pixel^", ["https://a.example/pixel?x", "https://a.example/pixel", "https://a.example/pixel/1"],
     ["https://a.example/pixels", "https://a.example/pixel-art.png", "https://a.example/pixel.png"]),
    ("/click.*/q/*$image", ["https://click.news.example/q/abc"], ["https://click.news.example/r/abc"]),
    ("|https://t.example/", ["https://t.example/a"], ["http://t.example/a", "https://x.example/?https://t.example/"]),
    ("/o.gif|", ["https://a.example/o.gif"], ["https://a.example/o.gif?x=1"]),
    ("%2Fo.gif&", ["https://a.example/r?u=%2Fo.gif&x"], ["https://a.example/o.gif"]),
    ("_track_pixel.gif?", ["https://a.example/x_track_pixel.gif?u=1"], ["https://a.example/track_pixel.gif?u=1"]),
])
def test_pattern_semantics(flt, yes, no):
    fs = one(flt)
    for url in yes:
        assert hit(fs, url), (flt, url)
    for url in no:
        assert not hit(fs, url), (flt, url)


def test_matching_is_case_insensitive_unless_match_case():
    assert hit(one("/Track/Open?"), "https://A.example/TRACK/open?x")
    fs = one("/Track/Open?$match-case")
    assert hit(fs, "https://a.example/Track/Open?x") and not hit(fs, "https://a.example/track/open?x")


def test_type_options_apply_per_load_kind():
    img = one("||t.example^$image")
    assert hit(img, "https://t.example/a.gif") and not hit(img, "https://t.example/a.css", "stylesheet")
    not_img = one("||t.example^$~image")
    assert not hit(not_img, "https://t.example/a.gif") and hit(not_img, "https://t.example/f.woff", "font")
    plain = one("||t.example^")
    assert hit(plain, "https://t.example/a.gif") and not hit(plain, "https://t.example/a", "link")


def test_links_only_from_click_lists_and_only_untyped_filters():
    assert hit(one("/click.php?c=", links=True), "https://news.example/click.php?c=1", "link")
    assert not hit(one("/click.php?c=", links=False), "https://news.example/click.php?c=1", "link")
    assert not hit(one("/open?token=$image", links=True), "https://news.example/open?token=1", "link")


def test_mail_decisions_for_web_options():
    assert parse_line("||t.example^$third-party", "t").host == "t.example"          # always third-party
    for text, why in [("||t.example^$script,third-party,xmlhttprequest", "never makes"),
                      ("||t.example^$~third-party", "third-party"),
                      ("||t.example^$domain=shop.example", "no site"),
                      ("||t.example^$csp=script-src 'none'", "not supported"),
                      ("example.org##.ad", "element hiding"),
                      ("/ads[0-9]+/", "regular-expression")]:
        got = parse_line(text, "t")
        assert isinstance(got, tuple) and why in got[1], (text, got)
    # exclusions only: a message is on none of those sites, so the filter applies
    assert parse_line("||t.example^$third-party,domain=~t.example|~t-shop.example", "t").host == "t.example"


def test_exception_filters_win():
    fs = FilterSet()
    fs.add("t.txt", "||t.example^\n@@||t.example/logo.png\n", "t")
    assert hit(fs, "https://t.example/p.gif") and not hit(fs, "https://t.example/logo.png")


def test_not_a_filter_list_is_refused():
    from tracker_block.engine.filterlist import FilterSyntaxError
    for text in ("<!DOCTYPE html><html>oops</html>", '{"a": 1}', "x\x00y"):
        with pytest.raises(FilterSyntaxError):
            parse(text, "t")


def test_every_shipped_filter_is_loaded_or_listed_as_dropped_with_a_reason():
    dropped_file = (RULES_DIR / "easyprivacy-dropped.txt").read_text()
    rules = load_rules()
    manifest = bundled_lists()
    assert {e["file"] for e in manifest} >= {"easyprivacy_general_emailtrackers.txt",
                                             "easyprivacy_trackingservers_thirdparty.txt"}
    for entry in manifest:
        text = (RULES_DIR / entry["file"]).read_text()
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("!")]
        res = rules.filters.lists[entry["file"]]
        assert len(res.loaded) + len(res.dropped) == len(lines), entry["file"]
        for t, why in res.dropped:
            assert f"{t}\t! {why}" in dropped_file
        if entry["label"] == "easyprivacy":
            assert entry["commit"] and entry["repo"].endswith("easylist/easylist") and "GPL-3.0" in entry["license"]
            assert "The EasyList authors (https://easylist.to/)" in text.splitlines()[2]
    assert len(rules.filters) > 4000
    notice = (RULES_DIR / "NOTICE").read_text()
    assert "The EasyList authors (https://easylist.to/)" in notice


@pytest.mark.parametrize("url, reason", [
    ("https://r.sendibt2.com/tr/op/AbCdEf", "list:easyprivacy/.sendibt2.com/tr/op/$image"),
    ("https://a.mktoresp.com/webevents/visitWebPage", "list:easyprivacy/||mktoresp.com^$third-party"),
    ("https://stats.example.org/piwik.php?idsite=3&rec=1", "list:tracker-block//piwik.php?"),
    ("https://example.org/matomo.php?action_name=x&rec=1&idsite=2", "list:tracker-block//matomo.php?"),
    ("https://doubleclick.net/x.gif", "rule:google/host"),
    ("https://x.list-manage.com/e/o/abc.gif", "rule:mailchimp/open"),
    ("https://livingsocial-d.openx.net/w/1.0/ai?auid=1", "rule:openx/host"),
    ("https://pixel.wp.com/g.gif?blog=1&post=2", "rule:wordpress-stats/host"),
])
def test_shipped_lists_and_vendors_judge_images(url, reason):
    v = Detector(load_rules(), Identity(())).load(url)
    assert v is not None and v.tracker and v.reason.startswith(reason), v


def test_list_hit_names_the_vendor_when_known():
    v = Detector(load_rules(), Identity(())).load("https://track.bluekai.com/x.gif?e_id_=1")
    assert v.company == "BlueKai"


def test_click_filter_marks_link_but_image_only_filter_does_not():
    det = Detector(load_rules(), Identity(()))
    link = det.link("https://news.example/click.php?c=123")
    assert link is not None and link.reason == "list:easyprivacy//click.php?c=" and link.use == "click"
    assert det.link("https://news.example/open?token=abc") is None


def test_rules_coverage_on_shipped_lists(capsys):
    for entry in bundled_lists():
        assert rules_main(["coverage", str(RULES_DIR / entry["file"])]) == 0
    out = capsys.readouterr().out
    assert "loaded   2480" in out and "dropped  8" in out          # the third-party server list
    assert "only request types mail never makes" in out
    assert "host filters (||host^): 458 of 458 recognised" in out  # general tracking servers (1 wildcard host)


def test_rules_coverage_plain_domains_and_disconnect_json(tmp_path, capsys):
    plain = tmp_path / "hosts.txt"
    plain.write_text("# mine\n0.0.0.0 doubleclick.net\nopenx.net\nexample-honest-site.org\n")
    assert rules_main(["coverage", str(plain)]) == 0
    out = capsys.readouterr().out
    assert "2 of 3 recognised" in out and "not recognised: example-honest-site.org" in out
    svc = tmp_path / "services.json"
    svc.write_text('{"categories": {"Email": [{"Litmus": {"https://litmus.com/": ["emltrk.com", "doubleclick.net"]}}],'
                   ' "EmailAggressive": [{"Nobody": {"https://nobody.example/": ["nobody.example"]}}]}}')
    assert rules_main(["coverage", str(svc)]) == 0
    out = capsys.readouterr().out
    assert "Email: 2 of 2 recognised" in out and "EmailAggressive: 0 of 1 recognised" in out


def test_rules_coverage_bad_input(tmp_path, capsys):
    html = tmp_path / "page.txt"
    html.write_text("<!doctype html><p>not a list</p>")
    assert rules_main(["coverage", str(html)]) == 2
    assert rules_main(["coverage", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err
    assert "not an Adblock Plus filter list" in err and "cannot read" in err and "Traceback" not in err


def test_user_filter_list_from_config(tmp_path, capsys):
    mine = tmp_path / "mine.txt"
    mine.write_text("! my list\n||tracker.mine.example^\n")
    cfg = tmp_path / "config.toml"
    cfg.write_text('filter_lists = ["mine.txt"]\n')
    assert rules_main(["--config", str(cfg), "check", "https://a.tracker.mine.example/p.gif"]) == 0
    assert "list:mine/||tracker.mine.example^" in capsys.readouterr().out


def test_config_filter_lists_paths_and_urls(tmp_path, monkeypatch):
    from tracker_block.cli.config import ConfigError, build_options, filter_list_paths, parse
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = parse({"filter_lists": ["lists/mine.txt", "https://lists.example/easy.txt"]}, tmp_path / "config.toml")
    local, cached = filter_list_paths(cfg)
    assert local == str(tmp_path / "lists" / "mine.txt")
    assert cached.startswith(str(tmp_path / "cache")) and cached.endswith("easy.txt")
    assert build_options(cfg).extra_rules[-2:] == (local, cached)
    with pytest.raises(ConfigError, match="filter_lists must be a list"):
        parse({"filter_lists": "mine.txt"}, tmp_path / "config.toml")
