"""Same output before and after a speed change? Save the engine's results, change the code, check.

    python benchmarks/differential.py save /tmp/before.pickle     # on the old code
    python benchmarks/differential.py check /tmp/before.pickle    # on the new code

Cleans a fixed corpus in all three modes: 150 generated bodies, the browser-test vectors and
hostile documents, the samples and 30 generated messages. It compares the output bytes and
every finding. The results stay on your disk (they are machine data, not a fixture): a speed
change should show no difference, and any behaviour change you meant to make should show up
here, one input at a time.
"""
from __future__ import annotations

import dataclasses
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

import gen  # noqa: E402
from tracker_block import Options, clean_html, clean_message  # noqa: E402
from tracker_block.signing import KeyRing  # noqa: E402


def corpus() -> tuple[list[tuple[str, str]], list[tuple[str, bytes]]]:
    docs = [(f"gen:{i}", gen.generate_html(i)) for i in range(150)]
    for f in sorted((ROOT / "tests" / "vectors").glob("**/*.html")):
        docs.append((f"vector:{f.name}", f.read_text(encoding="utf-8", errors="replace")))
    import test_browser_hostile as hostile   # the hostile fragments, as the browser test builds them
    docs += [(f"hostile:{n}", hostile.document(n, frag)) for n, (frag, _) in hostile.HOSTILE.items()]
    msgs = [(f"sample:{p.name}", p.read_bytes()) for p in sorted((ROOT / "samples").glob("*.eml"))]
    msgs += [(f"message:{i}", gen.generate_message(i)) for i in range(30)]
    return docs, msgs


def results() -> dict[str, tuple]:
    ring = KeyRing((("diff", b"k" * 32),))
    modes = {"trackers": Options(mode="trackers"), "all": Options(mode="all"),
             "proxy": Options(mode="proxy", proxy_base="https://proxy.example.net/p", keyring=ring)}
    docs, msgs = corpus()
    out: dict[str, tuple] = {}
    for mode, opts in modes.items():
        for name, doc in docs:
            r = clean_html(doc, opts, recipients=(gen.RECIPIENT,))
            out[f"{mode} {name}"] = (r.html, [dataclasses.astuple(f) for f in r.findings])
        for name, raw in msgs:
            data, rep = clean_message(raw, opts)
            out[f"{mode} {name}"] = (data, [dataclasses.astuple(f) for f in rep.findings], rep.errors)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "check"):
        print(__doc__.strip().split("\n\n")[1])
        return 2
    path = Path(argv[1])
    now = results()
    if argv[0] == "save":
        path.write_bytes(pickle.dumps(now))
        print(f"{len(now)} results saved to {path}")
        return 0
    before = pickle.loads(path.read_bytes())
    differ = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    for key in differ[:20]:
        old, new = before.get(key), now.get(key)
        print(f"--- {key}")
        if old is None or new is None:
            print("  only in", "the new run" if old is None else "the saved run")
            continue
        if old[0] != new[0]:
            print("  output differs")
        for f in old[1]:
            if f not in new[1]:
                print("  - finding", f)
        for f in new[1]:
            if f not in old[1]:
                print("  + finding", f)
    print(f"{len(differ)} of {len(now)} results differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
