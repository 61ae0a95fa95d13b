"""Coverage-guided fuzzing of clean_html, clean_text and clean_message (atheris / libFuzzer).

    python benchmarks/fuzz_engine.py                     # 15 minutes (-max_total_time=900)
    python benchmarks/fuzz_engine.py -max_total_time=60  # any libFuzzer flag is passed on
    python benchmarks/fuzz_engine.py -runs=2000 -seed=1  # what CI runs (tests/test_fuzz.py)
    python benchmarks/fuzz_engine.py --replay FILE...    # run saved inputs through the oracle

Each input picks a target and is built from libFuzzer's bytes: mostly a sequence of markup, CSS and
URL tokens (hostile HTML, loads of every kind, executable CSS, ``data:`` documents) mixed with raw
fuzz text, sometimes the raw bytes alone; atheris instruments ``tracker_block`` and tinycss2, so
inputs that reach new branches are kept and mutated.

The oracle (``check``), for every input:

- no exception escapes ``clean_html`` / ``clean_text`` / ``clean_message`` (a ``MessageError`` for
  bytes that are not a message is the documented answer, not a crash);
- the ``--remote all`` output has no remote URL in any loading place and nothing executable, as
  three readers other than the engine's own pass see it: html5lib (the WHATWG tree builder, as a
  browser builds it), lxml (libxml2) and lexbor, each with CSS read by tinycss2 and a regex reader
  (``tests/browser.py: remote_refs``);
- the ``--remote trackers`` output has nothing executable either (handlers, script URLs,
  ``expression()``, ``behavior``, ``-moz-binding``), and no remote URL anywhere but a visible-image
  place (``img``/``picture``/``input`` sources, ``background=``, ``poster``, VML, CSS backgrounds and
  list images), as html5lib reads it: every other load goes in every mode.

A failing input is written to ``--artifacts`` (default ``benchmarks/fuzz-findings/``) by libFuzzer; each
finding becomes a regression fixture in ``tests/vectors/fuzz/`` (replayed by ``tests/test_fuzz.py``).
At the end the number of inputs tried is printed.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
from email import message_from_bytes, policy as email_policy
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import atheris  # noqa: E402

with atheris.instrument_imports(include=["tracker_block", "tinycss2"]):
    from tracker_block import Options, clean_html, clean_message, clean_text  # noqa: E402
    from tracker_block.engine.mime import MessageError  # noqa: E402

from browser import _attr_refs, _css_refs, _is_remote_url, css_loads, remote_refs  # noqa: E402

URLS = ["https://t.shop.test/p.gif", "//t.shop.test/r.gif", "http:t.shop.test/x", "HTTPS://T.shop.test/y",
        "http:\\\\t.shop.test\\z", "javascript:alert(1)", "  jav&#x09;ascript:alert(1)", "vbscript:x",
        "data:image/svg+xml,<svg onload=alert(1)>", "data:text/html,<script>alert(1)</script>",
        "data:image/png;base64,iVBORw0KGgo=", "data:image/svg+xml;base64,PHN2Zz48c2NyaXB0Lz48L3N2Zz4=",
        "cid:logo", "#frag", "file://host/share", "\\\\host\\share", "ht\ttp://t.shop.test/t", "&#104;ttp://t.shop.test/e",
        "h&#116;tp:&#47;&#47;t.shop.test/c", "HTTP:t.shop.test/n"]
TOKENS = [
    "<img src=\"{u}\">", "<img srcset=\"{u} 1x, {u} 2x\">", "<picture><source srcset=\"{u}\"><img></picture>",
    "<video src=\"{u}\" poster=\"{u}\"><source src=\"{u}\"></video>", "<audio src=\"{u}\" autoplay>",
    "<svg><image href=\"{u}\"/><use xlink:href=\"{u}\"/><filter><feImage href=\"{u}\"/></filter>"
    "<rect fill=\"url({u})\"/></svg>", "<table background=\"{u}\"><tr><td background=\"{u}\">",
    "<div style=\"background:url({u});cursor:url({u}),auto;border-image:url({u}) 30\">",
    "<style>@font-face{src:url({u})} p{content:url({u});list-style:url({u})} @import '{u}';</style>",
    "<p style=\"{x:expression(alert(1))}\">", "<p style=\"behavior:url({u});-moz-binding:url({u})\">",
    "<p style=\"width:e\\78 pression(1);background:\\75 rl({u})\">", "<p style=\"cursor:var(--x, url({u}), auto)\">",
    "<a href=\"{u}\">", "<area href=\"{u}\">", "<math href=\"{u}\">", "<input type=image src=\"{u}\">",
    "<svg><set attributeName=\"onmouseover\" to=\"alert(1)\"/><animate attributeName=\"href\" values=\"{u}\"/></svg>",
    "<link rel=stylesheet href=\"{u}\">", "<base href=\"{u}\">", "<meta http-equiv=refresh content=\"0;url={u}\">",
    "<iframe srcdoc=\"<img src={u}>\">", "<!--[if mso]><v:image src=\"{u}\"/><![endif]-->", "<img src={u} onerror=x>",
    "<svg>", "</svg>", "<math>", "<mtext>", "<mglyph>", "</math>", "<foreignObject>", "<p>", "</p>", "<form>",
    "<table>", "<td>", "<select>", "<template>", "<style>", "</style>", "<noscript>", "</noscript>", "<textarea>",
    "</textarea>", "<title>", "<xmp>", "<noembed>", "<!--", "-->", "--!>", "<![CDATA[", "]]>", "<?x ", "?>",
    "\"", "'", "`", ">", "<", "/", "\x00", "&lt;", "&#x3c;", "(", ")", "\\", "{", "}", ";", ":", "url(", "/*", "*/",
]

tried = 0
started = time.monotonic()


class OracleFailure(AssertionError):
    """The output breaks the policy: a remote load or executable content a reader still finds."""


def _html5lib_tree(doc: str):
    """html5lib's tree of ``doc``, or None where html5lib itself fails: it asserts on some table/foreign
    content nestings (resetInsertionMode), a bug of its own; lxml and lexbor still read the document."""
    import html5lib

    try:
        return html5lib.parse(doc, treebuilder="etree", namespaceHTMLElements=False)
    except AssertionError:
        return None


def _is_css_style(el) -> bool:
    """An HTML or SVG <style> holds CSS; a MathML one (foreign content) is an inert element."""
    return not el.tag.startswith("{http://www.w3.org/1998/Math/MathML}")


def _own_text(el) -> str:
    """The text of an element and of its children's tails: comments inside it are not its CSS."""
    return (el.text or "") + "".join(child.tail or "" for child in el)


def _elements(doc: str) -> Iterator[tuple[Any, str]]:
    """(element, lowercased local tag name) for every element html5lib builds from ``doc``."""
    tree = _html5lib_tree(doc)
    for el in (tree.iter() if tree is not None else ()):
        if isinstance(el.tag, str):
            yield el, el.tag.rsplit("}", 1)[-1].lower()


def _html5lib_refs(doc: str) -> list[str]:
    """Remote and executable references as html5lib (the WHATWG tree builder) reads the document."""
    out: list[str] = []
    for el, tag in _elements(doc):
        for k, v in el.attrib.items():
            name = k.rsplit("}", 1)[-1] if "xlink" in k else k
            out += _attr_refs(tag, ("xlink:" + name) if "xlink" in k else name, v)
        if tag == "style" and _is_css_style(el):
            out += [f"<style>: {r}" for r in _css_refs(_own_text(el))]
    return out


# Where a remote URL may still be in --remote trackers output: a visible image's place. Written here from
# the policy's words, not imported from tracker_block.engine.policy, so the oracle does not share the engine's table.
_IMAGE_ATTR_PLACES = {("img", "src"), ("img", "srcset"), ("img", "lowsrc"), ("source", "srcset"), ("input", "src"),
                      ("video", "poster")}
_IMAGE_CSS_PLACES = {"background", "background-image", "list-style", "list-style-image", "selector"}


def _non_image_loads(doc: str) -> list[str]:
    """Remote URLs in places that are not a visible image's, as html5lib reads ``doc``."""
    out: list[str] = []
    for el, tag in _elements(doc):
        for k, v in el.attrib.items():
            name = ("xlink:" if "xlink" in k else "") + k.rsplit("}", 1)[-1].lower()
            if name == "style":
                out += [f"{tag}@style {p}: {u}" for p, u in css_loads(v, declarations_only=True)
                        if p not in _IMAGE_CSS_PLACES]
            elif name == "background" or (tag, name) in _IMAGE_ATTR_PLACES or tag.startswith("v:"):
                continue
            elif name not in ("href", "xlink:href") or tag not in ("a", "area"):
                out += [r for r in _attr_refs(tag, name, v) if ": handler" not in r and _is_remote_url(
                    r.split(": ", 1)[-1].split(" > ", 1)[-1])]
        if tag == "style" and _is_css_style(el):
            out += [f"<style> {p}: {u}" for p, u in css_loads(_own_text(el)) if p not in _IMAGE_CSS_PLACES]
    return out


def _executable(refs: list[str]) -> list[str]:
    return [r for r in refs if "exec:" in r or ": handler" in r or "script:" in r.lower()]


def check_html(doc: str) -> None:
    """The oracle for one HTML document, in both modes."""
    out_all = clean_html(doc, Options(mode="all")).html
    left = remote_refs(out_all) + _html5lib_refs(out_all)
    if left:
        raise OracleFailure(f"--remote all output still loads/runs {left[:5]}\nINPUT {doc!r}\nOUTPUT {out_all!r}")
    out_tr = clean_html(doc, Options(mode="trackers")).html
    bad = _executable(remote_refs(out_tr) + _html5lib_refs(out_tr)) + _non_image_loads(out_tr)
    if bad:
        raise OracleFailure(f"--remote trackers output runs or loads a non-image {bad[:5]}\nINPUT {doc!r}\nOUTPUT {out_tr!r}")


def check_message(raw: bytes) -> None:
    try:
        out, _report = clean_message(raw, Options(mode="all"))
    except MessageError:
        return   # not a mail message: the documented one-line error
    msg = message_from_bytes(out, policy=email_policy.default)
    for part in msg.walk():
        if part.get_content_type() == "text/html" and not part.is_attachment():
            try:
                text = part.get_content()
            except (LookupError, ValueError, AssertionError):
                continue   # an undecodable part the engine also left alone
            left = remote_refs(text) + _html5lib_refs(text)
            if left:
                raise OracleFailure(f"clean_message --remote all part still loads {left[:5]}\nINPUT {raw!r}")


def check_text(text: str) -> None:
    for mode in ("all", "trackers"):
        clean_text(text, Options(mode=mode))


def build(data: bytes) -> tuple[str, object]:
    """(target, input) from libFuzzer's bytes."""
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 9)
    if fdp.ConsumeIntInRange(0, 7) == 0:   # the raw bytes alone
        raw = fdp.ConsumeBytes(fdp.remaining_bytes())
        text = raw.decode("utf-8", "replace")
    else:
        parts = []
        for _ in range(fdp.ConsumeIntInRange(1, 24)):
            pick = fdp.ConsumeIntInRange(0, len(TOKENS) + 2)
            if pick < len(TOKENS):
                parts.append(TOKENS[pick].replace("{u}", URLS[fdp.ConsumeIntInRange(0, len(URLS) - 1)]))
            else:
                parts.append(fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 24)))
        text = "".join(parts)
        raw = text.encode("utf-8", "surrogatepass")
    if target <= 6:
        return "html", text
    if target == 7:
        return "text", text
    body = raw.replace(b"\r\n", b"\n")
    header = (b"From: a@shop.test\nTo: me@example.org\nSubject: fuzz\nMIME-Version: 1.0\n"
              b"Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
              b"see https://t.shop.test/l?utm_source=x\n--b\nContent-Type: text/html; charset=utf-8\n"
              b"Content-Transfer-Encoding: 8bit\n\n")
    return "message", (body if target == 8 else header + body + b"\n--b--\n")


def run_one(data: bytes) -> None:
    global tried
    tried += 1
    if tried % 20000 == 0:
        _report()
    target, value = build(data)
    if target == "html":
        check_html(value)  # type: ignore[arg-type]
    elif target == "text":
        check_text(value)  # type: ignore[arg-type]
    else:
        check_message(value)  # type: ignore[arg-type]


def _report() -> None:
    secs = time.monotonic() - started
    print(f"fuzz_engine: {tried} inputs tried in {secs:.0f} s ({tried / max(secs, 1e-9):.0f}/s)", flush=True)


def main(argv: list[str]) -> None:
    if "--replay" in argv:
        files = argv[argv.index("--replay") + 1:]
        for f in files:
            run_one(Path(f).read_bytes())
        print(f"fuzz_engine: {len(files)} saved inputs pass the oracle")
        return
    artifacts = ROOT / "benchmarks" / "fuzz-findings"
    artifacts.mkdir(exist_ok=True)
    args = list(argv)
    if not any(a.startswith(("-max_total_time", "-runs")) for a in args):
        args.append("-max_total_time=900")
    if not any(a.startswith("-artifact_prefix") for a in args):
        args.append(f"-artifact_prefix={artifacts}{os.sep}")
    atexit.register(_report)
    atheris.Setup([sys.argv[0], *args], run_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
