"""Detection quality: per-vendor examples, a recall corpus and a false-positive corpus (issue 3)."""
from __future__ import annotations

import pytest

from detection_corpus import HONEST, RECALL, RECIPIENT
from tracker_block import Options, clean_html
from tracker_block.engine.rules import load_rules
from tracker_block.cli.rules_cli import explain, main as rules_main, validate


def test_every_vendor_example_is_judged_as_declared():
    rules = load_rules()
    assert len(rules.vendors) >= 300
    assert validate(rules) == []


@pytest.mark.parametrize("snippet,url,company", RECALL, ids=[u for _, u, _ in RECALL])
def test_recall_corpus_is_blocked_and_attributed(snippet, url, company):
    res = clean_html(snippet.format(u=url), Options(), recipients=(RECIPIENT,))
    blocked = [f for f in res.findings if f.action == "removed" and f.url == url]
    assert blocked, f"not blocked: {url}"
    assert company.lower() in (blocked[0].tracker or "").lower()
    assert url not in res.html


@pytest.mark.parametrize("snippet,url", HONEST, ids=[u for _, u in HONEST])
def test_honest_content_survives(snippet, url):
    res = clean_html(snippet.format(u=url), Options(), recipients=(RECIPIENT,))
    assert [f for f in res.findings if f.action == "removed"] == []
    assert url.replace("&", "&amp;") in res.html or url in res.html


def test_rules_check_explains_a_verdict(capsys):
    info = explain("https://us14.list-manage.com/track/open.php?u=1&id=2", load_rules())
    assert info["as_image"]["reason"] == "rule:mailchimp/open"
    assert info["vendor"]["company"] and info["vendor"]["provenance"]
    assert rules_main(["check", "https://www.google.com/url?q=https%3A%2F%2Fexample.org%2F&sa=D"]) == 0
    assert "example.org" in capsys.readouterr().out
    assert rules_main(["validate"]) == 0


def test_broken_extra_rule_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[vendor]]\nid = "x"\ndomains = ["x.test"]\nopen = ["(unclosed"]\n')
    assert rules_main(["--rules", str(bad), "stats"]) == 1
    assert "bad regex" in capsys.readouterr().err


def test_user_config_extra_rules_apply_to_rules_check(tmp_path, capsys):
    extra = tmp_path / "mine.toml"
    extra.write_text('[sources.me]\nlicense = "MIT"\n[[vendor]]\nid = "acme-pixel"\nname = "Acme Pixel"\n'
                     'domains = ["acme-mail.test"]\nopen = [\'^px\\.acme-mail\\.test/\']\n'
                     'provenance = [{source = "me"}]\n')
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'extra_rules = ["{extra.name}"]\n')
    assert rules_main(["--config", str(cfg), "check", "https://px.acme-mail.test/o.gif"]) == 0
    out = capsys.readouterr().out
    assert "rule:acme-pixel/open" in out and "Acme Pixel" in out


def test_path_signals_ignore_case_on_ascii_and_unicode_paths():
    # ASCII paths are lowercased and matched case-sensitively (fast); the result must equal the
    # case-insensitive reading, including the pattern's own upper-case literal (I0/).
    from tracker_block.engine.heuristics import path_signals
    for target in ("t.example/I0/abc", "t.example/i0/ABC", "t.example/WF/OPEN?upn=1", "t.example/Track/Open/x",
                   "t.example/P/Q?x=1", "t.example/é/TRACK/OPEN/x"):
        low = path_signals(target.lower())
        assert path_signals(target) == low and low[0].startswith("tracking-path"), target


def test_generic_paths_are_found_at_any_slash():
    # Generic open paths are bucketed by their first three characters after a "/".
    from tracker_block.engine.rules import load_rules
    generic = load_rules(()).generic_open
    assert generic.search("mail.shop.example/a/b/E2T/O/xyz")        # "/e2t/o/" deep in the path
    assert generic.search("shop.example/x/y/track/open.php?u=1&id=2")
    assert not generic.search("cdn.shop.example/images/logo.png")
