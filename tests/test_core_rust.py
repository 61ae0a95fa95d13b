"""The Rust core's own tests (``cargo test`` in ``core/``), run with the rest of the suite.

They hold what the Python suite cannot see from outside: our tokenizer against html5ever's
(token for token, on the vectors, the gen.py bodies and 200,000 generated documents), the parse's
node and depth limits, every verdict shortcut against the plain computation, the CSS byte scan
against the tokenizer, and the serialiser against the spec's.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"


def test_the_cores_own_tests_pass():
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    if not Path(cargo).exists():
        pytest.fail("cargo not found: the core is built with it, so it must be installed")
    env = {**os.environ, "PYTHON": sys.executable}   # some tests run benchmarks/gen.py
    p = subprocess.run([cargo, "test", "--release", "--lib", "--quiet"], cwd=CORE, env=env,
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    assert "test result: ok." in p.stdout and " 0 failed" in p.stdout, p.stdout[-2000:]
