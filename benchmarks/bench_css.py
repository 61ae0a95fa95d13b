"""clean_html on newsletters with a heavy head <style>, and the CSS functions alone: Python vs Rust.

Issue 17 measured tinycss2's tokenising and re-serialising of a newsletter's whole <style> (media
queries, url() backgrounds, @font-face) at ~30 % of clean_html. Inputs:

* ``gen-largest``: the benchmarks/gen.py bodies (0..149) whose <style> is largest;
* ``heavy-NNk``: gen.py bodies whose head <style> is replaced by a 30-60 KB template sheet
  (responsive media queries, dark-mode rules, url() backgrounds on CDN and tracker hosts,
  Google Fonts @font-face blocks with unicode-range), built here deterministically.

The ``clean_html`` rows time the engine as installed (Rust CSS core) and, interleaved in the same
rounds, with the tinycss2 implementation it replaced patched back in (css.py, dataurl.py and the
sheet reading of visibility.py, loaded from git at benchmarks/css_reference.py's REF): the
before/after of issue 17's CSS step in one run. ``--functions`` also times ``clean_stylesheet``
alone on each input's largest sheet, tinycss2 against Rust.

    python benchmarks/bench_css.py [--rounds 7] [--functions]
"""
from __future__ import annotations

import argparse
import contextlib
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def heavy_sheet(size: int, seed: int) -> str:
    """A template sheet of about ``size`` characters, the way ESP builders emit them."""
    r = random.Random(f"bench-css-{seed}")
    parts: list[str] = []
    families = ["Inter", "Roboto", "Open Sans", "Lato", "Montserrat"]
    for fam in families[: r.randint(2, 5)]:
        for weight in (400, 700):
            for subset, urange in (("latin", "U+0000-00FF, U+0131, U+0152-0153, U+02BB-02BC, U+02C6, U+02DA, U+2000-206F"),
                                   ("latin-ext", "U+0100-02AF, U+0304, U+0308, U+0329, U+1E00-1E9F, U+20A0-20C0")):
                parts.append(f"/* {subset} */\n@font-face {{\n  font-family: '{fam}';\n  font-style: normal;\n"
                             f"  font-weight: {weight};\n  font-display: swap;\n  src: url(https://fonts.gstatic.com/s/"
                             f"{fam.lower().replace(' ', '')}/v13/{gen._token(r, 40)}.woff2) format('woff2');\n"
                             f"  unicode-range: {urange};\n}}\n")
    i = 0
    while sum(map(len, parts)) < size:
        i += 1
        cls = f"c{i}-{gen._token(r, 5).lower()}"
        host = r.choice(["cdn.shop-example.net", "images.brand-example.com", "t.mail-tracker.test", "img.esp-example.io"])
        kind = r.random()
        if kind < 0.25:
            parts.append(f".{cls}{{background:#{gen._hex(r, 6)} url('https://{host}/bg/{gen._token(r, 12)}.png') "
                         f"no-repeat center top / cover !important;}}\n")
        elif kind < 0.55:
            width = r.choice([480, 600, 640])
            rules = "".join(f"  .{cls}-{k}{{width:{r.randint(10, 100)}% !important;max-width:{r.randint(100, 600)}px;"
                            f"height:auto !important;padding:{r.randint(0, 24)}px;}}\n" for k in range(r.randint(2, 6)))
            parts.append(f"@media only screen and (max-width:{width}px){{\n{rules}}}\n")
        elif kind < 0.7:
            parts.append(f"@media (prefers-color-scheme:dark){{ .{cls}{{background-color:#111111 !important;"
                         f"color:#eeeeee !important;}} [data-ogsc] .{cls}{{color:#eeeeee !important;}} }}\n")
        else:
            parts.append(f"table.{cls} td, .{cls} a[x-apple-data-detectors]{{font-family:Helvetica,Arial,sans-serif;"
                         f"font-size:{r.randint(12, 18)}px;line-height:{r.randint(16, 28)}px;color:#{gen._hex(r, 6)};"
                         f"mso-line-height-rule:exactly;}}\n")
    return "".join(parts)


def inputs() -> list[tuple[str, str]]:
    bodies = [gen.generate_html(i) for i in range(150)]
    by_style = sorted(range(150), key=lambda i: -sum(len(s) for s in _STYLE.findall(bodies[i])))
    out = [(f"gen-largest#{i}", bodies[i]) for i in by_style[:4]]
    for n, size in enumerate((30_000, 40_000, 50_000, 60_000)):
        body = bodies[n * 7]
        sheet = heavy_sheet(size, n)
        main = max(_STYLE.finditer(body), key=lambda m: len(m.group(1)))   # the head sheet (not the mso one)
        out.append((f"heavy-{len(sheet) // 1000}k#{n * 7}", body[:main.start(1)] + sheet + body[main.end(1):]))
    return out


@contextlib.contextmanager
def python_css():
    """The engine with the tinycss2 implementation of CSS cleaning, data: URLs and sheet reading."""
    from css_reference import REF, load_reference
    from tracker_block import css, dataurl, visibility
    ref = {name: load_reference(REF, name) for name in ("css", "dataurl", "visibility")}
    patches = [(css, name, getattr(ref["css"], name)) for name in
               ("may_load", "clean_stylesheet", "clean_declarations", "clean_value")]
    patches += [(dataurl, "unsafe_reason", ref["dataurl"].unsafe_reason)]
    patches += [(visibility, name, getattr(ref["visibility"], name)) for name in ("sheet_matters", "_rules", "_inline")]
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in patches]
    for mod, name, value in patches:
        setattr(mod, name, value)
    try:
        yield
    finally:
        for mod, name, value in saved:
            setattr(mod, name, value)


def timed(fn, arg, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--functions", action="store_true", help="also time clean_stylesheet: tinycss2 vs Rust")
    args = ap.parse_args()
    from tracker_block import Options, clean_html
    from tracker_block.engine import clear_caches
    docs = inputs()
    print(f"{'clean_html (median ms)':42} {'tinycss2':>9} {'rust':>9}  speed-up")
    for mode in ("trackers", "all"):
        opts = Options(mode=mode)

        def cold(h: str) -> None:
            clear_caches()       # time mail as never seen
            clean_html(h, opts)

        for name, html in docs:
            with python_css():
                before = clean_html(html, opts)
            after = clean_html(html, opts)
            assert before.html == after.html, f"{name}: the two CSS implementations cleaned differently"
            py_times, rs_times = [], []
            for _ in range(args.rounds):   # interleaved: machine noise hits both alike
                with python_css():
                    py_times.append(timed(cold, html, 1))
                rs_times.append(timed(cold, html, 1))
            py, rs = statistics.median(py_times) * 1000, statistics.median(rs_times) * 1000
            print(f"  {mode:8} {name:18} {len(html) // 1000:4d} KB      {py:9.2f} {rs:9.2f}  x{py / rs:5.2f}")
    if args.functions:
        from css_reference import REF, load_reference
        from tracker_block import _core
        ref = load_reference(REF, "css")

        def judge(url: str, kind: str, where: str):
            return False if "tracker" in url else None

        for name, html in docs:
            sheet = max(_STYLE.findall(html), key=len)
            py = timed(lambda s: ref.clean_stylesheet(s, judge), sheet, args.rounds) * 1000
            rs = timed(lambda s: _core.css_clean_stylesheet(s, judge), sheet, args.rounds) * 1000
            print(f"clean_stylesheet {name:18} {len(sheet) // 1000:3d} KB  tinycss2 {py:8.2f} ms  rust {rs:7.3f} ms"
                  f"  x{py / rs:6.1f}")


if __name__ == "__main__":
    main()
