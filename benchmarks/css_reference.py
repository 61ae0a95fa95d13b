"""Record what the tinycss2 implementation of the CSS cleaning did, for the Rust core to be held to.

Issue 17 moved ``tracker_block/engine/css.py`` (clean_stylesheet / clean_declarations / clean_value),
``dataurl.unsafe_reason`` and the sheet reading of ``visibility.py`` into Rust. This script runs the
Python implementation they replaced, loaded from git at ``--ref`` (the last commit that has it), over
every style text of the corpora, and writes what it returned and every judge call, in order, to
``tests/data/css_reference.json.gz``; ``tests/test_css_differential.py`` compares the Rust core with it.

Inputs: the ``<style>`` sheets, ``style`` attributes and CSS-valued attributes the engine's site
finder (``html.collect``) reports in benchmarks/gen.py bodies 0..149, tests/vectors/** (and fuzz/),
the documents of tests/newsletter_corpus.py and tests/detection_corpus.py, every string literal
of the test modules that holds CSS, each also read as a sheet, a style attribute and a value; and
variants generated from them (cut short, case-flipped, escaped, commented, spliced with hostile
fragments), deterministically. The judge decides by a hash of (url, kind, where): keep, remove or
replace, so every path is taken.

Regenerate (needs tinycss2, in the test extras):
    .venv/bin/python benchmarks/css_reference.py [--ref COMMIT]
"""
from __future__ import annotations

import argparse
import ast
import gzip
import json
import random
import subprocess
import sys
import types
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "css_reference.json.gz"
# The last commit whose tracker_block/ holds the tinycss2 implementation.
REF = "372287b802e10e4e4fba18934860303b532231b0"

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def load_reference(ref: str, name: str) -> types.ModuleType:
    """tracker_block/<name>.py as it was at ``ref``, importable beside the current package."""
    source = subprocess.run(["git", "show", f"{ref}:tracker_block/{name}.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    if "tbcssref" not in sys.modules:   # a private package: relative imports find ``ref``'s modules
        pkg = types.ModuleType("tbcssref")
        pkg.__path__ = []
        sys.modules["tbcssref"] = pkg
    module = types.ModuleType(f"tbcssref.{name}")
    module.__package__ = "tbcssref"
    if name == "visibility" and "tbcssref.heuristics" not in sys.modules:
        load_reference(ref, "heuristics")   # its parse_px, size_signal, style_hides, as they were
    sys.modules[module.__name__] = module
    exec(compile(source, f"{ref}:tracker_block/{name}.py", "exec"), module.__dict__)
    return module


def verdict(url: str, kind: str, where: str) -> "str | None | bool":
    """The deterministic judge: keep, remove or replace by a hash of the call."""
    h = zlib.crc32(f"{url}\x00{kind}\x00{where}".encode("utf-8", "surrogatepass"))
    return (None, False, f"https://proxy.test/p/{h:08x}?u=\"q\"")[h % 3]


def keep_all(url: str, kind: str, where: str) -> None:
    return None


JUDGES = {"hash": verdict, "keep": keep_all}

# Fragments spliced into sheets: each a way CSS has hidden a load or script.
HOSTILE = [
    "@import 'http://t.test/a.css';", "@import url(//t.test/b.css) screen;", "@\\69mport 'x.css';",
    "a{background:u\\72l(http://t.test/e.gif)}", "b{background:url( 'http://t.test/q.gif' )}",
    "c{background-image:image-set('http://t.test/s.gif' 1x, url(http://t.test/s2.gif) 2x)}",
    "d{width:expr/**/ession(alert(1))}", "e{behavior:url(x.htc)}", "f{-moz-binding:url(x.xml#b)}",
    "g{content:\"url(http://t.test/in-string)\"}", "h[title=\"url(http://t.test/sel)\"]{color:red}",
    "@font-face{font-family:x;src:url(http://t.test/f.woff2) format('woff2');unicode-range:U+0000-00FF,U+4??}",
    "@media (max-width:600px){i{background:url(http://t.test/m.gif)}}", "j{background:var(--x, url(http://t.test/v.gif))}",
    "k{background:url(http://t.test/bad\"url)}", "l{background:url(http://t.test/eof", "m{content:'unterminated",
    "n{cursor:url(http://t.test/c.cur),auto}", "o{list-style:src(\"http://t.test/src.gif\")}", "}}}", "<!-- p{} -->",
    "q{background:-webkit-cross-fade(url(http://t.test/a.png), url(b.png), 50%)}", "r{mask:url(#m)}",
    "@namespace svg url(http://www.w3.org/2000/svg);", "s{x:\"\n}", "t{a:b!important;c:url(//t.test/imp.gif) !IMPORTANT}",
    "u{background:URL(HTTP://T.TEST/UP.GIF)}", "@supports (display:grid){v{background:url(http://t.test/sup.gif)}}",
    "w{background:url(http://t.test/a.gif)/*x*/;b:url(https://t.test/k.gif)}", "x{ a:b; {c:url(http://t.test/nest)} }",
    "y{color:red; &:hover{background:url(http://t.test/hover.gif)}}", "\\3c style",
]


# Pieces random texts are made of: every token kind, escapes, the ends of input, line endings.
PIECES = [
    "url(", "URL( ", "u\\72l(", "src(", "image-set(", "image(", "cross-fade(", "var(--a,", "expression(", "expr/**/ession(",
    "\"", "'", "\\", "\\\n", "\n", "\r\n", "\r", "\f", "\0", "\t", " ", "/*", "*/", "{", "}", "(", ")", "[", "]", ";", ":",
    ",", "!", "!important", "important", "@import", "@media", "@font-face", "@namespace", "@supports", "@", "#", "#a", "#1",
    "U+", "u+4??", "U+0-7F", "U+1F600-1F64F", "U+12345678", "-", "--x", "||", "|", "|=", "~=", "^=", "$=", "*=", "<!--", "-->",
    "1e3", ".5", "+1", "-2px", "10%", "1e", "3E-x", "0.0", "http://t.test/x.gif", "//t.test/y", "\\\\h\\s", "data:image/svg+xml,<svg>",
    "javascript:", "behavior", "-moz-binding", "a", "b", "display", "none", "é", "\u0130", "\u212a", "\u00a0", "\u3000", "\x1c",
    "\\41", "\\0 ", "\\110000", "\\d800", "\\\"", "\\)", "\\(", "\\ ", "<", "</style>", "\\3c ",
]


# data: URLs: media types (inert, scriptable, malformed) and SVG bodies (inert and risky), encoded
# plainly, percent-encoded and in base64 (with junk and bad lengths).
DATA_TYPES = ["image/png", "IMAGE/PNG", " image/jpeg ", "image/svg+xml", "Image/SVG+XML", "text/html", "", "font/woff2",
              "application/font-woff", "audio/ogg", "text/plain", "image/svg", "image/x-icon", "text/xml", "font/K"]
SVG_BODIES = ["<svg><circle r='1'/></svg>", "<svg onload=alert(1)>", "<svg><script>x</script></svg>",
              "<svg><use href='#a'/></svg>", "<svg><use href='x.svg#a'/></svg>", "<svg><image xlink:href = \"//t.test/i\"/>",
              "<svg style='background:url(#g)'>", "<svg style='background:url( http://t.test/b)'>", "<svg><foreignObject>",
              "<!ENTITY x>", "<svg><a href=javascript:x>", "<svg><style>@import 'x'</style>", "<svg>ON click=1", "<svg>\u00e9</svg>"]


def generated_data_urls() -> list[str]:
    import base64
    from urllib.parse import quote
    out = []
    for mt in DATA_TYPES:
        for body in SVG_BODIES:
            b64 = base64.b64encode(body.encode()).decode()
            out += [f"data:{mt},{body}", f"data:{mt},{quote(body)}", f"data:{mt};base64,{b64}",
                    f"data:{mt};charset=utf-8; BASE64 ,{b64[:-1]}", f"data:{mt};base64,{b64[:5]}!{b64[5:]}",
                    f"data:{mt};base64,{b64}A"]
    return out + ["data:", "data:image/svg+xml", "data:image/svg+xml,%3csvg%20onload%3d1%3e", "data:,%zz%3", "dat\u00e9:a,b"]


def random_texts(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 30))) for _ in range(count)]


def css_literals(path: Path) -> list[str]:
    """String literals of a Python test module that hold CSS or markup."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            s = node.value
            if any(w in s.lower() for w in ("url", "style", "{", "@import", "expression", "binding", "behavior")):
                out.append(s)
    return out


def documents() -> list[str]:
    import gen
    import detection_corpus
    import newsletter_corpus
    docs = [gen.generate_html(i) for i in range(150)]
    for p in sorted((ROOT / "tests" / "vectors").rglob("*")):
        if p.is_file():
            docs.append(p.read_bytes().decode("utf-8", "replace"))
    docs += [r.html for r in newsletter_corpus.RECALL] + [h.html for h in newsletter_corpus.HONEST]
    docs += [s.replace("{u}", u) for s, u, _ in detection_corpus.RECALL]
    docs += [s.replace("{u}", u) for s, u in detection_corpus.HONEST]
    return docs


def variants(text: str, rng: random.Random) -> list[str]:
    """Deterministic mutations: cut short, case-flipped, escaped, commented, spliced with a hostile fragment."""
    out = []
    if len(text) > 4:
        for _ in range(2):
            out.append(text[:rng.randrange(1, len(text))])
    out.append(text.swapcase())
    out.append(text.replace("url(", "u\\rl(", 1).replace("l(", "l/**/(", 1))
    out.append(text.replace(";", "/*;*/;", 2).replace(":", " : ", 3))
    cut = rng.randrange(0, len(text) + 1)
    out.append(text[:cut] + rng.choice(HOSTILE) + text[cut:])
    return out


def collect_inputs() -> tuple[list[tuple[str, str, str]], list[str]]:
    """(mode, text, where) cases and data: URLs, deduplicated, in a stable order."""
    from html_expectations import load_reference as load_html_reference
    html = load_html_reference().html   # the Python collector, as it was before the Rust pass replaced it
    seen: set[tuple[str, str, str]] = set()
    cases: list[tuple[str, str, str]] = []
    data_urls: dict[str, None] = {}

    def add(mode: str, text: str, where: str = "") -> None:
        key = (mode, text, where)
        if key not in seen:
            seen.add(key)
            cases.append(key)

    def from_doc(doc: str) -> None:
        sites, _ = html.collect(html.parse(doc))
        for s in sites:
            if s.css is not None and s.css_mode in ("sheet", "block", "value"):
                add(s.css_mode, s.css, s.where if s.css_mode == "value" else "")
            if s.url and s.url.lower().startswith("data:"):
                data_urls[s.url] = None

    for doc in documents():
        from_doc(doc)
    literals: list[str] = []
    for p in sorted((ROOT / "tests").glob("*.py")):
        literals += css_literals(p)
    for s in literals:
        if "<" in s:
            from_doc(s)
        for mode in ("sheet", "block", "value"):
            add(mode, s, "fill" if mode == "value" else "")
        if "data:" in s:
            for part in s.split("data:")[1:]:
                data_urls["data:" + part.split('"')[0].split("'")[0].split(")")[0]] = None
    for frag in HOSTILE:
        add("sheet", frag)
        add("block", frag.partition("{")[2].rstrip("}") or frag)
    rng = random.Random("tracker-block-css-reference")
    base = list(cases)
    for mode, text, where in base:
        for v in variants(text, rng):
            add(mode, v, where)
    for i in range(300):   # hostile fragments spliced together
        add("sheet", "".join(rng.choice(HOSTILE) for _ in range(rng.randrange(2, 6))))
    for text in random_texts(rng, 4000):
        add("sheet", text)
        add("block", text)
        add("value", text, "fill")
    for text in random_texts(rng, 2000):   # wrapped as a rule, so its tokens land in declarations
        add("sheet", "a{b:" + text + "}")
    for u in generated_data_urls():
        data_urls[u] = None
    return cases, list(data_urls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default=REF, help="git commit holding the tinycss2 implementation")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    css = load_reference(args.ref, "css")
    dataurl = load_reference(args.ref, "dataurl")
    visibility = load_reference(args.ref, "visibility")
    cases, data_urls = collect_inputs()
    css_rows = []
    for mode, text, where in cases:
        for name, decide in JUDGES.items():
            calls: list[list[str]] = []

            def judge(url: str, kind: str, where_: str, decide=decide, calls=calls):
                calls.append([url, kind, where_])
                return decide(url, kind, where_)

            if mode == "sheet":
                result = css.clean_stylesheet(text, judge)
            elif mode == "block":
                result = css.clean_declarations(text, judge)
            else:
                result = css.clean_value(text, judge, where)
            css_rows.append([mode, text, where, name, result, calls])
    sheets = sorted({text for mode, text, _ in cases if mode == "sheet"})
    structure_rows = []
    for text in sheets:
        light = visibility._light_structure(text)
        full = visibility._tinycss2_structure(text)
        structure_rows.append([text, visibility.sheet_matters(text),
                               None if light is None else [[c, s, [list(d) for d in ds]] for c, s, ds in light],
                               [[c, s, [list(d) for d in ds]] for c, s, ds in full]])
    inline_rows = [[text, [list(d) for d in visibility._inline.__wrapped__(text)]]
                   for text in sorted({t for m, t, _ in cases if m == "block"})]
    data = {"ref": args.ref, "css": css_rows, "dataurl": [[u, dataurl.unsafe_reason(u)] for u in data_urls],
            "structure": structure_rows, "inline": inline_rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, separators=(",", ":")).encode("ascii")
    args.out.write_bytes(gzip.compress(raw, 9, mtime=0))
    changed = sum(1 for r in css_rows if r[4] is not None)
    print(f"{len(css_rows)} CSS cases ({changed} changed), {len(data_urls)} data: URLs, {len(structure_rows)} sheets "
          f"read for visibility, {len(inline_rows)} inline styles -> {args.out} "
          f"({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
