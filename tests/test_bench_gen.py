"""The benchmark corpus generator and the bundled sample mails are what they claim to be.

Benchmarks are only comparable if the corpus is the same everywhere, and the samples are only
useful as demos and fixtures if each really carries the tracker its README line promises.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import importlib.util
import mailbox
import os
import re
import struct
import subprocess
import sys
import zlib
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def _load_gen():
    spec = importlib.util.spec_from_file_location("bench_gen", ROOT / "benchmarks" / "gen.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


gen = _load_gen()
N = 40   # enough to hit every vendor, kind, charset and transfer encoding


# --------------------------------------------------------------------------- helpers
class _Tags(HTMLParser):
    """Start tags with their attributes, plus the text of <style> blocks."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)

    def attrs(self, tag: str, name: str) -> list[str]:
        return [a[name] for t, a in self.tags if t == tag and a.get(name)]


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _assert_clean_mime(raw: bytes) -> EmailMessage:
    assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF: real mail uses CRLF"
    msg = _parse(raw)
    for part in msg.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
        for name, value in part.items():
            assert not getattr(value, "defects", ()), (name, value.defects)
        if not part.is_multipart() and part.get_content_type() != "message/rfc822":
            part.get_content()   # decodes: charset and transfer encoding are valid
    return msg


def _html_parts(msg: EmailMessage) -> list[EmailMessage]:
    return [p for p in msg.walk() if p.get_content_type() == "text/html"]


_PIXEL = re.compile(
    r"list-manage\.com/track/open\.php|ct\.sendgrid\.net/wf/open|awstrack\.me/I0/|/open\.aspx\?|hubspotlinks\.com/Cto/"
    r"|klclick1\.com/wf/open|email\.mg\.[^/]+/o/|google-analytics\.com/collect|emltrk\.com/"
    r"|mail\.[^/]+/o/[0-9a-f]{64}\.gif|pixel\.[^/]+/t/[0-9a-f]{32}/|ct\.pinterest\.com/v3/")
_CLICK = re.compile(
    r"list-manage\.com/track/click|ct\.sendgrid\.net/ls/click|awstrack\.me/L0/|click\.e\.[^/]+/\?qs="
    r"|hubspotlinks\.com/Ctc/|klclick1\.com/ls/click|email\.mg\.[^/]+/c/")


# --------------------------------------------------------------------------- generator
def test_generator_is_deterministic_within_and_across_processes():
    assert gen.generate_html(3) == gen.generate_html(3)
    assert gen.generate_message(7) == gen.generate_message(7)
    assert gen.generate_html(3) != gen.generate_html(4)
    assert gen.corpus(3) == [gen.generate_html(i) for i in range(3)]
    # A different interpreter with a different hash seed must produce the same bytes.
    code = ("import hashlib,sys;sys.path.insert(0,sys.argv[1]);import gen as m;"
            "print(hashlib.sha256(m.generate_message(11)+m.generate_html(12).encode()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "benchmarks")], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert out.strip() == hashlib.sha256(gen.generate_message(11) + gen.generate_html(12).encode()).hexdigest()


def test_html_sizes_fall_in_20_to_150_kb_and_vary():
    sizes = [len(gen.generate_html(i).encode("utf-8")) for i in range(N)]
    assert all(20_000 <= s <= 150_000 for s in sizes), sizes
    assert max(sizes) > 2 * min(sizes), "the corpus should span small and large mails"


@pytest.mark.parametrize("i", range(N))
def test_generated_html_has_the_features_that_make_real_mail_expensive(i):
    html = gen.generate_html(i)
    tags = _Tags(html)
    pixels = [s for s in tags.attrs("img", "src") if _PIXEL.search(s)]
    assert 1 <= len(pixels) <= 3, pixels
    assert re.search(r"<!--\[if [^\]]*mso[^\]]*\]>.*?<v:(roundrect|rect|fill)\b.*?<!\[endif\]-->", html, re.S)
    assert any("@media" in s for s in tags.styles)
    tracked = [h for h in tags.attrs("a", "href") if _CLICK.search(h)]
    assert tracked and all(100 <= len(h) <= 300 for h in tracked), [len(h) for h in tracked]
    assert any("utm_source=" in h or "utm_source%3D" in h for h in tags.attrs("a", "href"))
    tds = [a for t, a in tags.tags if t == "td"]
    assert len(tds) >= 20 and sum(1 for a in tds if a.get("style")) / len(tds) >= 0.9
    assert len(tags.attrs("table", "width")) >= 3 and 'width="600"' in html   # nested 600px layout
    hosted = [s for s in tags.attrs("img", "src") if s.startswith("https://") and not _PIXEL.search(s)]
    assert len(hosted) >= 2


def test_plain_bodies_and_messages_are_byte_identical_to_the_published_corpus():
    """Adding the heavy-style bodies must not move a byte of the corpus earlier figures were measured on."""
    h = hashlib.sha256()
    for i in range(N):
        h.update(gen.generate_html(i).encode())
        assert gen.generate_html(i, "plain") == gen.generate_html(i)
    for i in range(10):
        h.update(gen.generate_message(i))
    assert h.hexdigest() == "bcc92e8d60c9d73302668ea5961e08887f3f1e4f4e8989953d9ffa50bbdde033"


def test_8bit_messages_carry_the_same_bodies_as_written_within_998_byte_lines():
    """``transfer="8bit"``: the parts unencoded (as much real mail is sent), every line within RFC 5322's
    998 bytes, the same HTML and text as the published corpus once whitespace is read as HTML reads it."""
    for i in range(N):
        raw = gen.generate_message(i, transfer="8bit")
        assert raw == gen.generate_message(i, transfer="8bit")
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998
        assert b"\n" not in raw.replace(b"\r\n", b"")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        encoded = email.message_from_bytes(gen.generate_message(i), policy=email.policy.default)
        for ours, theirs in zip(msg.walk(), encoded.walk()):
            if ours.is_multipart():
                continue
            assert ours["Content-Transfer-Encoding"] in ("7bit", "8bit")
            assert ours.get_content_type() == theirs.get_content_type()
            assert ours.get_content().split() == theirs.get_content().replace("\r\n", "\n").split()
    with pytest.raises(ValueError):
        gen.generate_message(0, transfer="binary")


def _strip_heavy(i: int, html: str) -> str:
    for css in gen.heavy_style_blocks(i):
        block = re.search(r"<style[^>]*>\n" + re.escape(css) + "</style>\n", html)
        assert block, "each heavy block sits in its own <style> element"
        html = html.replace(block.group(), "", 1)
    return html.replace('<div id="_t"></div>\n', "", 1)


@pytest.mark.parametrize("i", range(0, N, 3))
def test_heavy_style_body_is_the_plain_body_plus_20_to_60_kb_of_esp_template_css(i):
    html = gen.generate_html(i, style="heavy")
    assert html == gen.generate_heavy_style_html(i)
    assert _strip_heavy(i, html) == gen.generate_html(i)      # nothing else moved
    head = html.split("</head>", 1)[0]
    blocks = gen.heavy_style_blocks(i)
    assert all(css in head for css in blocks) and 1 <= len(blocks) <= 3
    css = "".join(blocks)
    assert 20_000 <= len(css) <= 60_000
    assert all(b.count("{") == b.count("}") for b in blocks), "each block is a whole sheet"
    assert "@media (prefers-color-scheme:dark)" in css and "[data-ogsc]" in css and "[data-ogsb]" in css
    assert len(re.findall(r"@media [^{]*max-width", css)) >= 1 and "@font-face" in css
    urls = re.findall(r"url\(\s*['\"]?(https://[^'\")]+)", css)
    assert len(urls) >= 25, len(urls)
    assert len(set(urls)) >= 0.8 * len(urls), "per-message URLs, not one repeated string"


def test_heavy_style_corpus_is_deterministic_and_some_sheets_carry_the_litmus_css_beacon():
    code = ("import hashlib,sys;sys.path.insert(0,sys.argv[1]);import gen as m;"
            "print(hashlib.sha256(m.generate_message(5,'heavy')+m.generate_html(6,'heavy').encode()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "benchmarks")], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "99"}).stdout
    assert out.strip() == hashlib.sha256(gen.generate_message(5, "heavy")
                                         + gen.generate_html(6, "heavy").encode()).hexdigest()
    assert gen.heavy_corpus(2) == [gen.generate_html(0, "heavy"), gen.generate_html(1, "heavy")]
    beacons = [i for i in range(N) if "emltrk.com/v2/" in gen.generate_html(i, "heavy")]
    assert 0.1 * N <= len(beacons) <= 0.5 * N, beacons
    html = gen.generate_html(beacons[0], "heavy")
    assert '<div id="_t"></div>' in html and re.search(r"@media print\{ #_t \{ background-image: url\('https://", html)
    with pytest.raises(ValueError):
        gen.generate_html(0, "fancy")


def test_heavy_style_message_carries_the_heavy_body_as_clean_mime():
    msg = _assert_clean_mime(gen.generate_message(4, "heavy"))
    [part] = _html_parts(msg)
    expected = gen.generate_html(4, "heavy").replace('charset=utf-8"', f'charset={part.get_content_charset()}"')
    assert part.get_content().replace("\r\n", "\n") == expected
    plain = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_content()
    assert "data-ogsc" not in plain and "@media" not in plain    # the text alternative has no CSS


@pytest.mark.parametrize("i", range(0, N, 2))
def test_generated_messages_are_clean_mime_carrying_the_generated_html(i):
    msg = _assert_clean_mime(gen.generate_message(i))
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"].addresses[0].addr_spec == gen.RECIPIENT
    html = msg.get_body(("html",))
    charset = html.get_content_charset()
    expected = gen.generate_html(i).replace('charset=utf-8"', f'charset={charset}"')
    assert html.get_content().replace("\r\n", "\n") == expected
    assert msg.get_body(("plain",)).get_content().strip()


def test_generated_messages_mix_transfer_encodings_and_charsets():
    seen = set()
    for i in range(N):
        part = _parse(gen.generate_message(i)).get_body(("html",))
        seen.add((part["Content-Transfer-Encoding"], part.get_content_charset()))
    assert {cte for cte, _ in seen} == {"base64", "quoted-printable"}
    assert {cs for _, cs in seen} == {"utf-8", "windows-1252"}


def test_mbox_and_maildir_writers_round_trip(tmp_path):
    gen.main(["mbox", str(tmp_path / "x.mbox"), "-n", "4"])
    box = mailbox.mbox(tmp_path / "x.mbox")
    got = [m.as_bytes().replace(b"\r\n", b"\n") for m in box]
    box.close()
    assert len(got) == 4
    for i, raw in enumerate(got):
        assert _parse(raw)["Message-ID"] == _parse(gen.generate_message(i))["Message-ID"]
        assert _parse(raw).get_body(("html",)).get_content().replace("\r\n", "\n") == \
            _parse(gen.generate_message(i)).get_body(("html",)).get_content().replace("\r\n", "\n")
    gen.main(["maildir", str(tmp_path / "md"), "-n", "3"])
    md = mailbox.Maildir(tmp_path / "md", create=False)
    ids = sorted(m["Message-ID"] for m in md)
    assert ids == sorted(_parse(gen.generate_message(i))["Message-ID"] for i in range(3))


# --------------------------------------------------------------------------- samples
SAMPLE_FILES = sorted(p.name for p in SAMPLES.glob("*.eml"))


def test_samples_readme_lists_every_sample_and_nothing_else():
    listed = re.findall(r"^- `([^`]+\.eml)`", (SAMPLES / "README.md").read_text(encoding="utf-8"), re.M)
    assert listed == SAMPLE_FILES
    assert len(SAMPLE_FILES) >= 6


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_sample_is_clean_mime(name):
    msg = _assert_clean_mime((SAMPLES / name).read_bytes())
    assert msg["Message-ID"] and msg["From"] and msg["Date"] and msg["Subject"]


def _sample(name: str) -> EmailMessage:
    return _parse((SAMPLES / name).read_bytes())


def _png_ok(data: bytes) -> bool:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            return False
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    zlib.decompress(idat)
    return kind == b"IEND"


def test_sample_newsletter_has_mailchimp_pixel_wrapped_links_and_hosted_images():
    msg = _sample("01-newsletter-mailchimp.eml")
    assert "list-manage.com/unsubscribe" in msg["List-Unsubscribe"]
    tags = _Tags(msg.get_body(("html",)).get_content())
    assert any("list-manage.com/track/open.php?" in s for s in tags.attrs("img", "src"))
    assert sum("list-manage.com/track/click?" in h for h in tags.attrs("a", "href")) == 7
    assert sum("mcusercontent.com/" in s for s in tags.attrs("img", "src")) == 4
    assert "utm_campaign=" in msg.get_body(("plain",)).get_content()


def test_sample_cold_sales_has_hidden_sidekick_pixel_and_wrapped_link():
    tags = _Tags(_sample("02-cold-sales-hubspot.eml").get_body(("html",)).get_content())
    (pixel,) = [a for t, a in tags.tags if t == "img"]
    assert re.match(r"http://t\.sidekickopen\d+\.com/s3t/o/", pixel["src"])
    assert pixel["width"] == pixel["height"] == "1" and "display:none" in pixel["style"]
    assert any(re.match(r"http://t\.sidekickopen\d+\.com/s3t/c/", h) for h in tags.attrs("a", "href"))


def test_sample_receipt_has_css_trackers_cp1252_base64_and_a_matching_cid_logo():
    msg = _sample("03-receipt-css-tracker.eml")
    (related,) = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    html_part, logo = list(related.iter_parts())
    assert html_part.get_content_charset() == "windows-1252"
    assert html_part["Content-Transfer-Encoding"] == "base64"
    html = html_part.get_content()
    assert "€60,75" in html and "Grüß" in html
    tags = _Tags(html)
    (cid,) = [s for s in tags.attrs("img", "src") if s.startswith("cid:")]
    assert logo["Content-ID"] == f"<{cid[4:]}>" and logo.get_content_type() == "image/png"
    assert _png_ok(logo.get_content())
    assert sum(len(re.findall(r"background-image:\s*url\('https://[^']*emltrk\.com/", s)) for s in tags.styles) == 5
    assert any("background-image:url(https://click.e." in s and "/open.aspx?" in s for s in tags.attrs("td", "style"))
    assert msg.get_body(("plain",)).get_content_charset() == "iso-8859-1"


def test_sample_personal_mail_has_no_remote_content_and_a_real_pdf():
    msg = _sample("04-personal-no-trackers.eml")
    assert not _html_parts(msg)
    (pdf,) = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
    data = pdf.get_content()
    assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
    text = msg.get_body(("plain",)).get_content()
    assert re.findall(r"https?://\S+", text) == ["https://photos.example.net/share/garden-sunday"]


def test_sample_read_receipt_requests_three_kinds_of_receipt():
    msg = _sample("05-read-receipt.eml")
    for header in ("Disposition-Notification-To", "Return-Receipt-To", "X-Confirm-Reading-To"):
        assert "r.okafor@property.example.com" in msg[header]
    assert not re.search(r"(src|href|url\()\s*=?\s*[\"']?https?:", msg.get_body(("html",)).get_content())


def test_sample_forward_hides_ses_tracking_inside_message_rfc822():
    msg = _sample("06-forwarded-ses.eml")
    (attached,) = [p for p in msg.walk() if p.get_content_type() == "message/rfc822"]
    inner = attached.get_content()
    tags = _Tags(inner.get_body(("html",)).get_content())
    assert sum("awstrack.me/I0/" in s for s in tags.attrs("img", "src")) == 1
    assert sum("awstrack.me/L0/https:%2F%2F" in h for h in tags.attrs("a", "href")) == 3
    assert "awstrack" not in msg.get_body(("plain",)).get_content()


def test_sample_hashed_recipient_pixel_is_sha256_of_the_to_address_without_size():
    msg = _sample("07-hashed-recipient.eml")
    addr = msg["To"].addresses[0].addr_spec
    digest = hashlib.sha256(addr.lower().encode()).hexdigest()
    tags = _Tags(msg.get_body(("html",)).get_content())
    (pixel,) = [a for t, a in tags.tags if t == "img" and digest in a["src"]]
    assert pixel["src"] == f"https://mail.shop-example.com/o/{digest}.gif"
    assert "width" not in pixel and "height" not in pixel
    md5 = hashlib.md5(addr.lower().encode()).hexdigest()
    assert any(f"/c/{md5}/" in h for h in tags.attrs("a", "href"))


def test_sample_klaviyo_has_open_pixel_and_wrapped_links():
    tags = _Tags(_sample("08-klaviyo-sendgrid.eml").get_body(("html",)).get_content())
    assert sum("trk.klclick1.com/wf/open?upn=" in s for s in tags.attrs("img", "src")) == 1
    assert sum("trk.klclick1.com/ls/click?upn=" in h for h in tags.attrs("a", "href")) == 4


# --------------------------------------------------------------------------- benchmark command
def test_bench_verdicts_smoke_run_prints_every_row():
    for style in ("plain", "heavy"):
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_verdicts.py"), "--bodies", "2",
                              "--rounds", "1", "--style", style], check=True, capture_output=True, text=True).stdout
        m = re.search(r"^(\d+) image URLs, (\d+) links", out, re.M)
        assert m and int(m.group(1)) > 0 and int(m.group(2)) > 0, out
        for row in ("image load", "link verdict", "link unwrap+strip", "call floor (is_remote)"):
            assert re.search(rf"^{re.escape(row)} +\d+\.\d{{3}} µs$", out, re.M), (row, out)


def test_bench_engine_smoke_run_prints_floor_and_every_row(capsys):
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "benchmarks" / "bench_engine.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    assert bench.main(["--quick", "-n", "1", "--rounds", "1", "--no-context"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"lxml parse\+serialize \(floor\)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+1\.00 *\n", out)
    assert re.search(r"stdlib email parse\+as_bytes \(floor\)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+1\.00 *\n", out)
    # The engine's own floor (its walk without judging) has figures but no findings column.
    assert len(re.findall(r"tracker_block walk only \(no judging\)(?:\s+[\d.]+){4} *\n", out)) == 3
    assert "HTML bodies with heavy head <style>: 1 generated" in out
    for mode in ("trackers", "all", "proxy"):
        assert out.count(f"tracker_block.clean_html {mode}") == 3      # generated, heavy-style and samples
        assert out.count(f"tracker_block.clean_message {mode}") == 2


def test_bench_instructions_child_cleans_in_every_mode_and_rejects_unknown_rows(capsys):
    # The valgrind runs themselves take minutes; what runs inside them is checked here.
    spec = importlib.util.spec_from_file_location("bench_instructions", ROOT / "benchmarks" / "bench_instructions.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    for row in bench.ROWS:
        assert bench.main(["--child", row, "1"]) == 0
    with pytest.raises(SystemExit):
        bench.main(["nonsense"])
    assert "unknown row" in capsys.readouterr().err


def test_differential_tool_reads_the_whole_corpus_and_explains_its_use(capsys):
    spec = importlib.util.spec_from_file_location("differential", ROOT / "benchmarks" / "differential.py")
    diff = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = diff
    spec.loader.exec_module(diff)
    docs, msgs = diff.corpus()
    names = [n for n, *_ in docs]
    assert sum(n.startswith("gen:") for n in names) == 150 and any(n.startswith("vector:") for n in names)
    assert any(n.startswith("hostile:") for n in names) and any(n.startswith("sample:") for n in (m for m, _ in msgs))
    assert diff.main([]) == 2 and "differential.py save" in capsys.readouterr().out
    # the corpora issue 17 adds: heavy-style bodies and messages, the detection corpora, the fuzz finds
    mnames = [m for m, _ in msgs]
    assert sum(n.startswith("heavy:") for n in names) == diff.HEAVY_BODIES
    assert any(n.startswith("detection-recall:") for n in names) and any(n.startswith("detection-honest:") for n in names)
    assert sum(n.startswith("fuzz:") for n in names) == len(list(diff.FUZZ.glob("*.bin"))) > 0
    assert any(n.startswith("newsletter-recall:") for n in mnames) and any(n.startswith("heavy-message:") for n in mnames)
    assert len(set(names + mnames)) == len(names) + len(mnames), "every input has its own name"
    assert diff.corpus() == (docs, msgs), "the same inputs on every run (no random MIME boundary, no clock)"


def test_differential_report_lists_each_difference_with_its_findings_and_where_the_bytes_part():
    spec = importlib.util.spec_from_file_location("differential", ROOT / "benchmarks" / "differential.py")
    diff = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = diff
    spec.loader.exec_module(diff)
    keep = ("<p>same</p>", [("a", 1)])
    before = {"trackers gen:1": keep, "all heavy:2": ("<img src=x>", [("img", "x")]),
              "proxy message:3": (b"Subject: a\r\n\r\nbody", [], ()), "all gone:4": keep}
    now = {"trackers gen:1": keep, "all heavy:2": ("<img>", [("img", "y")]),
           "proxy message:3": (b"Subject: a\r\n\r\nbody", [], ("boom",)), "all new:5": keep}
    lines, n = diff.compare(before, now, full=True)
    text = "\n".join(lines)
    assert n == 4 and lines[-1] == "4 of 4 results differ"
    assert "--- heavy:2  [mode all]" in text and "output differs at offset 4 (lengths 11 -> 5)" in text
    assert "  - finding ('img', 'x')" in text and "  + finding ('img', 'y')" in text
    assert "errors () -> ('boom',)" in text and "only in the saved run" in text and "only in the new run" in text
    assert "gen:1" not in text
    assert "by mode: all 3, proxy 1" in text
    short, _ = diff.compare(before, now, full=False, limit=1)
    assert len([ln for ln in short if ln.startswith("---")]) == 1


def test_targets_smoke_run_prints_every_issue_17_target_as_a_ratio_or_rate(capsys):
    spec = importlib.util.spec_from_file_location("targets", ROOT / "benchmarks" / "targets.py")
    targets = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = targets
    spec.loader.exec_module(targets)
    assert targets.main(["--quick", "-n", "1", "--rounds", "1", "--only", "html", "message", "filter"]) == 0
    out = capsys.readouterr().out
    for corpus in ("gen.py corpus", "heavy-style corpus"):
        assert re.search(rf"clean_html trackers / lxml p\+s, {corpus} +\d+\.\d\dx +<= 1\.0x +(yes|no) ", out), out
    for corpus in ("gen.py messages", "heavy-style messages"):
        assert re.search(rf"clean_message / stdlib email p\+s, {corpus} +\d+\.\d\dx +<= 1\.5x +(yes|no) ", out), out
    assert re.search(r"mail filter \(filter_message\), 1 process +\d+\.\d +>= \d+ \(3x [\d.]+\) +(yes|no) ", out), out
    # the stdlib floor really round-trips the message
    raw = gen.generate_message(2)
    assert targets.stdlib_roundtrip(raw).replace(b"\r\n", b"\n").count(b"Content-Transfer-Encoding") == 2
