"""The HTML dashboard: self-contained, escaped, and showing the same numbers as the JSON report."""
from __future__ import annotations

import json
import mailbox
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from email.utils import parseaddr
from pathlib import Path

import pytest

from test_cli import PY, make_message
from browser import CHROMIUM, Browser

INJECT = '<img src=http://inject.test/subject.png> "quoted" & <script>alert(1)</script>'


def _mailbox(root: Path) -> None:
    mb = mailbox.mbox(str(root / "inbox.mbox"))
    months = ["Jan", "Feb", "Apr"]
    for i in range(24):
        date = f"Tue, {1 + i % 27:02d} {months[i % 3]} 2024 09:00:00 +0000"
        raw = make_message(i, i % 3 != 1, date=date,
                           subject=INJECT if i == 4 else None,
                           sender='"<b onmouseover=alert(1)>Eve</b>" <eve@evil.example>' if i == 5 else None)
        if i in (7, 8):   # the recipient's own address in an image URL: an identity leak
            raw = raw.replace(b"<p>Hello", b'<img src="https://img.shop.example/b.png?u=ana%40example.org" '
                                           b'width="600" height="200"><p>Hello', 1)
        mb.add(raw)
    mb.flush()
    (root / "broken.eml").write_bytes(b"\x00\x01 not mail")


def _dump_dom(html_path: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--proxy-server=http://127.0.0.1:9", "--virtual-time-budget=3000",
             "--dump-dom", html_path.as_uri()], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.decode()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict, str]:
    root = tmp_path_factory.mktemp("dash")
    _mailbox(root)
    (root / "out").mkdir()
    p = subprocess.run([PY, "-m", "tracker_block.cli.main", "report", "inbox.mbox", "broken.eml", "-o", "out/report.html"],
                       cwd=root, capture_output=True, timeout=120)
    assert p.returncode == 1, p.stderr               # the broken file is reported, the report still written
    doc = json.loads(subprocess.run([PY, "-m", "tracker_block.cli.main", "scan", "--json", "-q", "inbox.mbox"],
                                    cwd=root, capture_output=True, timeout=120).stdout)
    return root / "out" / "report.html", doc, (root / "out" / "report.html").read_text()


def test_self_contained_no_remote_urls(built) -> None:
    _path, _doc, html = built
    from html.parser import HTMLParser

    url_attrs = {"src", "href", "action", "poster", "srcset", "data", "xlink:href", "background",
                 "formaction", "ping", "manifest", "codebase", "lowsrc", "dynsrc"}
    seen: list[tuple[str, str, str]] = []

    class Walk(HTMLParser):
        def handle_starttag(self, tag, attrs):
            seen.extend((tag, k, v or "") for k, v in attrs)

    Walk().feed(html)
    assert seen
    for tag, name, value in seen:
        if name in url_attrs:
            assert value.startswith(("data:", "#")), (tag, name, value)
        assert "url(" not in value.replace(" ", "") or "url(data:" in value, (tag, name, value)
        assert not (tag == "meta" and value.lower() == "refresh")
    assert not re.search(r"url\(\s*['\"]?(?!data:)", html)
    assert "@import" not in html and "<link" not in html
    assert "default-src &#x27;none&#x27;" in html        # CSP forbids remote loads even if escaping failed


def test_mail_text_is_escaped(built) -> None:
    _path, _doc, html = built
    assert "<img src=http://inject.test" not in html and "<script>alert(1)" not in html
    assert "&lt;img src=http://inject.test/subject.png&gt;" in html
    assert "<b onmouseover" not in html


def test_real_browser_fetches_nothing_and_shows_the_json_numbers(built) -> None:
    path, doc, html = built
    with Browser() as b:
        assert b.render(html) == set()                   # recording proxy saw no request at all
    dom = _dump_dom(path)
    assert 'data-ready="1"' in dom                       # the inline script ran under the CSP (hash OK)
    msgs = doc["messages"]
    def taken_out(m: dict) -> bool:   # a tracking device removed or unwrapped (not a utm_ clean-up)
        return any(f["action"] in ("removed", "replaced", "unwrapped")
                   and (f["certainty"] != "policy" or f["kind"] == "header") for f in m["findings"])
    tracked = sum(taken_out(m) for m in msgs)
    assert re.search(r'id="kpi-messages">%d<' % len(msgs), dom)
    assert re.search(r'id="kpi-tracked">%d<' % tracked, dom)
    assert f"{tracked / len(msgs):.1%}" in dom
    assert re.search(r'id="kpi-errors">1<', dom)
    companies = Counter(c for m in msgs for c in m["companies"])
    assert companies
    for company, n in companies.most_common(15):
        esc = company.replace("&", "&amp;").replace('"', "&quot;")
        assert f'data-company="{esc}" data-value="{n}"' in dom
    senders = Counter(parseaddr(m["from"])[1].lower() for m in msgs if (m["status"] in ("cleaned", "tracked")))
    for sender, n in senders.most_common(15):
        assert f'data-sender="{sender}" data-value="{n}"' in dom
    months = Counter((m["date"].split()[2], taken_out(m)) for m in msgs)
    jan_total = months[("Jan", True)] + months[("Jan", False)]
    assert f'data-month="2024-01" data-total="{jan_total}" data-tracked="{months[("Jan", True)]}"' in dom
    assert 'data-month="2024-03" data-total="0"' in dom  # an empty month still has its place on the axis
    leaks = sum(bool(m["identity_leaks"]) for m in msgs)
    assert leaks == 2 and re.search(r'id="kpi-leaks">2<', dom)
    assert dom.count("<tr class=") == len(msgs)         # one table row per message
    assert "inject.test/subject.png" in dom and "<img src=\"http://inject.test" not in dom


def test_screenshot_renders(built, tmp_path: Path) -> None:
    path, _doc, _html = built
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                        "--proxy-server=http://127.0.0.1:9", "--window-size=1280,1600",
                        f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=60)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000   # a real, non-blank page
    keep = Path(__file__).resolve().parent.parent / "benchmarks" / "out"
    if keep.is_dir():
        shutil.copy(shot, keep / "dashboard.png")


def test_detail_is_capped_with_a_pointer_to_the_json_and_the_counts_cover_everything(tmp_path: Path) -> None:
    from tracker_block import clean_message
    from tracker_block.cli.dashboard import Collector
    raws = [make_message(i, i % 2 == 0) for i in range(2)]
    reports = [clean_message(r, path=f"m{i}")[1] for i, r in enumerate(raws)]
    small, big = Collector(max_rows=3), Collector(max_rows=3)
    for i in range(3):
        small.add(reports[i % 2])
    for i in range(300):
        big.add(reports[i % 2])
    html_small, html_big = small.render(), big.render(json_name="all.json")
    assert "rows-note" not in html_small
    assert "Details of the first 3 of 300 messages" in html_big and 'href="all.json"' in html_big
    assert 'id="kpi-messages">300<' in html_big and 'id="kpi-tracked">150<' in html_big
    assert html_big.count("<tr class=") == 3
    # detail is bounded: 100x the messages costs less than 3 KB more (the aggregates only)
    assert len(html_big) - len(html_small) < 3000


def test_allowlisted_and_plurals_in_the_table(tmp_path: Path) -> None:
    from tracker_block.cli.dashboard import Collector
    from tracker_block.engine.report import Finding, MessageReport
    c = Collector()
    c.add(MessageReport(path="a", sender="friend@example.org", allowlisted=True))
    one = MessageReport(path="b", sender="shop@example.org")
    one.findings.append(Finding("pixel", "https://t.example/o.gif", "img@src", "removed", "heuristic:tiny-image"))
    c.add(one)
    html = c.render()
    assert "allowlisted, not checked" in html and ">1 finding<" in html and "finding(s)" not in html
    assert 'id="kpi-companies">0<' in html        # a heuristic finding names no company
