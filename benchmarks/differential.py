"""Same output before and after a speed change? Save the engine's results, change the code, check.

    python benchmarks/differential.py save /tmp/before.pickle            # on the old code
    python benchmarks/differential.py check /tmp/before.pickle           # on the new code
    python benchmarks/differential.py check /tmp/before.pickle --report  # every difference, explained

Cleans a fixed corpus in all three modes and compares the output bytes and every finding:
150 generated bodies and 40 heavy-style ones (``gen.py``: 20-60 KB head ``<style>``), the
browser-test vectors and hostile documents, the detection corpora (``tests/detection_corpus.py``
snippets, ``tests/newsletter_corpus.py`` fixtures as messages from their senders), the inputs
past fuzz runs failed on (``tests/vectors/fuzz/``, as HTML and inside the message the harness
wraps them in), the samples and 30 plain plus 10 heavy-style generated messages. The results
stay on your disk (they are machine data, not a fixture): a speed change should show no
difference, and any behaviour change you meant to make should show up here, one input at a
time. ``--report`` lists each difference: input, mode, findings lost and gained, and where the
output bytes first part (offset, lengths, the bytes around it).
"""
from __future__ import annotations

import dataclasses
import email
import email.policy
import pickle
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import gen  # noqa: E402
from tracker_block import Options, clean_html, clean_message  # noqa: E402
from tracker_block.engine.signing import KeyRing  # noqa: E402

HEAVY_BODIES = 40
FUZZ = ROOT / "tests" / "vectors" / "fuzz"
# The message a fuzz input becomes when the harness targets clean_message (benchmarks/fuzz_engine.py).
_FUZZ_HEADER = (b"From: a@shop.test\nTo: me@example.org\nSubject: fuzz\nMIME-Version: 1.0\n"
                b"Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
                b"see https://t.shop.test/l?utm_source=x\n--b\nContent-Type: text/html; charset=utf-8\n"
                b"Content-Transfer-Encoding: 8bit\n\n")

Doc = tuple[str, str, dict[str, Any]]     # (name, html, clean_html keyword arguments)


def corpus() -> tuple[list[Doc], list[tuple[str, bytes]]]:
    """(HTML documents, whole messages), each under a stable name."""
    to_gen = {"recipients": (gen.RECIPIENT,)}
    docs: list[Doc] = [(f"gen:{i}", gen.generate_html(i), to_gen) for i in range(150)]
    vectors = ROOT / "tests" / "vectors"
    for f in sorted(vectors.glob("**/*.html")):    # a file in a subfolder is named with its folder
        docs.append((f"vector:{f.relative_to(vectors).as_posix()}", f.read_text(encoding="utf-8", errors="replace"),
                     to_gen))
    import test_browser_hostile as hostile   # the hostile fragments, as the browser test builds them
    docs += [(f"hostile:{n}", hostile.document(n, frag), to_gen) for n, (frag, _) in hostile.HOSTILE.items()]
    docs += [(f"heavy:{i}", gen.generate_html(i, "heavy"), to_gen) for i in range(HEAVY_BODIES)]
    docs += _detection_docs()
    docs += [(f"fuzz:{f.name}", f.read_bytes().decode("utf-8", "replace"), to_gen) for f in sorted(FUZZ.glob("*.bin"))]
    msgs = [(f"sample:{p.name}", p.read_bytes()) for p in sorted((ROOT / "samples").glob("*.eml"))]
    msgs += [(f"message:{i}", gen.generate_message(i)) for i in range(30)]
    msgs += [(f"heavy-message:{i}", gen.generate_message(i, "heavy")) for i in range(10)]
    msgs += _newsletter_messages()
    msgs += [(f"fuzz-message:{f.name}", _FUZZ_HEADER + f.read_bytes().replace(b"\r\n", b"\n") + b"\n--b--\n")
             for f in sorted(FUZZ.glob("*.bin"))]
    return docs, msgs


def _detection_docs() -> list[Doc]:
    """tests/detection_corpus.py: each snippet with its URL, for its recipient (as test_detection.py cleans it)."""
    import detection_corpus as dc
    kw = {"recipients": (dc.RECIPIENT,)}
    docs = [(f"detection-recall:{k}", snippet.format(u=url), kw) for k, (snippet, url, _) in enumerate(dc.RECALL)]
    docs += [(f"detection-honest:{k}", snippet.format(u=url), kw) for k, (snippet, url) in enumerate(dc.HONEST)]
    return docs


def _newsletter_messages() -> list[tuple[str, bytes]]:
    """tests/newsletter_corpus.py: every fixture as the message detection_quality.py builds (From: its sender)."""
    import newsletter_corpus as nc
    from detection_quality import message

    def fixed(sender: str, html: str) -> bytes:
        # the stdlib picks a random MIME boundary: pin it, or every run would be a new input
        msg = email.message_from_bytes(message(sender, html), policy=email.policy.default)
        msg.set_boundary("differential-boundary")
        return msg.as_bytes()
    out = [(f"newsletter-recall:{fx.name}", fixed(fx.shell.sender, fx.html)) for fx in nc.RECALL]
    out += [(f"newsletter-honest:{d.name}", fixed(d.shell.sender, d.html)) for d in nc.HONEST]
    return out


def results() -> dict[str, tuple]:
    ring = KeyRing((("diff", b"k" * 32),))
    modes = {"trackers": Options(mode="trackers"), "all": Options(mode="all"),
             "proxy": Options(mode="proxy", proxy_base="https://proxy.example.net/p", keyring=ring)}
    docs, msgs = corpus()
    out: dict[str, tuple] = {}
    for mode, opts in modes.items():
        for name, doc, kw in docs:
            r = clean_html(doc, opts, **kw)
            out[f"{mode} {name}"] = (r.html, [dataclasses.astuple(f) for f in r.findings])
        for name, raw in msgs:
            data, rep = clean_message(raw, opts)
            out[f"{mode} {name}"] = (data, [dataclasses.astuple(f) for f in rep.findings], rep.errors)
    return out


def byte_diff(old: str | bytes, new: str | bytes, context: int = 60) -> str:
    """Where two outputs first part: offset, both lengths and the text around it on each side."""
    n = min(len(old), len(new))
    at = next((k for k in range(n) if old[k] != new[k]), n)
    lo = max(0, at - context // 3)

    def show(s: str | bytes) -> str:
        piece = s[lo:at + context]
        return repr(piece.decode("utf-8", "replace") if isinstance(piece, bytes) else piece)
    return (f"output differs at offset {at} (lengths {len(old)} -> {len(new)})\n"
            f"      before: {show(old)}\n      after:  {show(new)}")


def describe(key: str, old: tuple | None, new: tuple | None, full: bool) -> list[str]:
    """The lines that explain one difference (input and mode are in ``key``)."""
    mode, name = key.split(" ", 1)
    lines = [f"--- {name}  [mode {mode}]"]
    if old is None or new is None:
        return lines + ["  only in " + ("the new run" if old is None else "the saved run")]
    if old[0] != new[0]:
        lines.append("  " + byte_diff(old[0], new[0]) if full else "  output differs")
    lines += [f"  - finding {f}" for f in old[1] if f not in new[1]]
    lines += [f"  + finding {f}" for f in new[1] if f not in old[1]]
    if old[1] != new[1] and sorted(map(repr, old[1])) == sorted(map(repr, new[1])):
        lines.append("  findings the same, in another order")
    if len(old) > 2 and old[2] != new[2]:
        lines.append(f"  errors {old[2]!r} -> {new[2]!r}")
    return lines


def compare(before: dict[str, tuple], now: dict[str, tuple], full: bool = False, limit: int = 20) -> tuple[list[str], int]:
    """(report lines, number of results that differ); ``full`` lists every difference with its byte diff."""
    differ = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    lines: list[str] = []
    for key in differ if full else differ[:limit]:
        lines += describe(key, before.get(key), now.get(key), full)
    if full and differ:
        by_mode: dict[str, int] = {}
        for key in differ:
            by_mode[key.split(" ", 1)[0]] = by_mode.get(key.split(" ", 1)[0], 0) + 1
        by_corpus: dict[str, int] = {}
        for key in differ:
            corpus_name = key.split(" ", 1)[1].split(":", 1)[0]
            by_corpus[corpus_name] = by_corpus.get(corpus_name, 0) + 1
        lines.append("by mode: " + ", ".join(f"{m} {c}" for m, c in sorted(by_mode.items())))
        lines.append("by corpus: " + ", ".join(f"{m} {c}" for m, c in sorted(by_corpus.items())))
    lines.append(f"{len(differ)} of {len(now)} results differ")
    return lines, len(differ)


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--report"]
    if len(args) != 2 or args[0] not in ("save", "check") or (args[0] == "save" and "--report" in argv):
        print(__doc__.strip().split("\n\n")[1])
        return 2
    path = Path(args[1])
    now = results()
    if args[0] == "save":
        path.write_bytes(pickle.dumps(now))
        print(f"{len(now)} results saved to {path}")
        return 0
    lines, differ = compare(pickle.loads(path.read_bytes()), now, full="--report" in argv)
    print("\n".join(lines))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
