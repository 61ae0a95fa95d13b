"""The fuzzing harness, briefly, and every input it ever failed on (``benchmarks/fuzz_engine.py``).

CI runs a few thousand coverage-guided inputs (seconds) through the same oracle the long runs use:
no crash in ``clean_html`` / ``clean_text`` / ``clean_message``, no remote load left in ``--remote all``
output and nothing executable in any output, as html5lib, lxml and lexbor (CSS via tinycss2) read it.
Each input a long run found lives in ``tests/vectors/fuzz/`` and is replayed here.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "benchmarks" / "fuzz_engine.py"
FOUND = sorted((Path(__file__).parent / "vectors" / "fuzz").glob("*.bin"))


def test_brief_fuzz_run(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(HARNESS), "-runs=2500", "-seed=7", "-max_len=2048",
                           f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Done 2500 runs" in proc.stderr, proc.stderr[-2000:]


def test_oracle_catches_a_leak(tmp_path: Path) -> None:
    """The oracle has teeth: an engine that forgot a load would fail it (checked on a raw document)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT / "tests"))
    from fuzz_engine import _html5lib_refs   # noqa: PLC0415 - instrumented import, only here
    from browser import remote_refs
    doc = '<svg><image href="//t.shop.test/p.gif"/></svg><p style="x:expression(1)">'
    assert _html5lib_refs(doc) and remote_refs(doc)


def test_past_findings_pass_the_oracle() -> None:
    """Every input a long run failed on (one file each, named after what it found) passes now."""
    assert FOUND, "tests/vectors/fuzz/ holds the inputs past runs failed on"
    proc = subprocess.run([sys.executable, str(HARNESS), "--replay", *map(str, FOUND)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(FOUND)} saved inputs pass the oracle" in proc.stdout
