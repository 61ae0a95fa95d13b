"""Time tracker_block.engine.mime.parse + rebuild on large messages.

Why: the engine runs on every opened message, and mail with big attachments is
common; parse/rebuild must stay linear.  The stdlib parse alone is printed as the
floor we cannot go under (``parse`` always runs it).

    /tmp/venv/bin/python benchmarks/bench_mime.py [--sizes 1,10,50]
"""
from __future__ import annotations

import argparse
import random
import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from tracker_block.engine.mime import parse, rebuild

PIXEL = "<img src='https://t.example.com/o/{}.gif' width=1 height=1>"


def newsletter_html(rng: random.Random, size: int) -> str:
    chunks = []
    n = 0
    i = 0
    while n < size:
        s = (f"<tr><td style='padding:8px'><a href='https://click.example.com/r/{rng.getrandbits(64):x}'>"
             f"Article {i} \u2014 caf\u00e9</a> {PIXEL.format(i)}</td></tr>\n")
        chunks.append(s)
        n += len(s)
        i += 1
    return "<html><body><table>\n" + "".join(chunks) + "</table></body></html>\n"


def build(total_mb: float, html_share: float, seed: int = 7) -> bytes:
    """A newsletter (plain + HTML) with a binary attachment filling up to ``total_mb``."""
    rng = random.Random(seed)
    html_size = int(total_mb * 1e6 * html_share)
    m = EmailMessage()
    m["From"] = "News <news@example.com>"
    m["To"] = "bob@example.net"
    m["Subject"] = f"benchmark {total_mb} MB"
    m["Disposition-Notification-To"] = "news@example.com"
    m.set_content("Plain version\n" * 100)
    m.add_alternative(newsletter_html(rng, html_size), subtype="html", cte="quoted-printable")
    att = int((total_mb * 1e6 - html_size * 1.05) * 3 / 4)
    if att > 0:
        m.add_attachment(rng.randbytes(att), maintype="application", subtype="pdf", filename="report.pdf")
    return m.as_bytes(policy=policy.SMTP)


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(total_mb: float, html_share: float, repeat: int) -> None:
    raw = build(total_mb, html_share)
    t_std = best_of(lambda: BytesParser(policy=policy.default).parsebytes(raw), repeat)
    t_parse = best_of(lambda: parse(raw), repeat)
    p = parse(raw)
    html_path = next(t.path for t in p.parts if t.subtype == "html")
    html = next(t.text for t in p.parts if t.subtype == "html")
    cleaned = html.replace("https://t.example.com/o/", "data:,")
    t_same = best_of(lambda: rebuild(p, {}), repeat)
    t_change = best_of(lambda: rebuild(p, {html_path: cleaned}, ["Disposition-Notification-To"]), repeat)
    out = rebuild(p, {html_path: cleaned}, ["Disposition-Notification-To"])
    assert next(t.text for t in parse(out).parts if t.subtype == "html") == cleaned
    print(f"{len(raw) / 1e6:7.1f} MB  html {html_share:4.0%}  stdlib parse {t_std:6.3f}s  "
          f"parse {t_parse:6.3f}s  rebuild(no change) {t_same:6.3f}s  "
          f"rebuild(html changed) {t_change:6.3f}s  parse+rebuild {t_parse + t_change:6.3f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,10,50", help="message sizes in MB, comma separated")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for mb in (float(x) for x in args.sizes.split(",")):
        for share in (0.05, 1.0):
            run(mb, share, args.repeat if mb < 20 else 1)


if __name__ == "__main__":
    main()
