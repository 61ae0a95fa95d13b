"""The wheel carries everything the program reads at run time (rules, notices, the Thunderbird add-on)."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_runs_from_anywhere_with_its_own_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = list((tmp_path / "dist").glob("tracker_block-*.whl"))
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    for needed in ("tracker_block/ruledata/trackers.toml", "tracker_block/ruledata/NOTICE",
                   "tracker_block/ruledata/LICENSE.LGPL-3.0.txt", "tracker_block/ruledata/clearurls.toml",
                   "tracker_block/thunderbird_bridge/manifest.json"):
        assert needed in names, needed
    # run from an unrelated directory with only the wheel's contents on the path (no source tree)
    code = ("import tracker_block, tracker_block.rules as r; "
            "assert 'site' in tracker_block.__file__; rules = r.load_rules(); "
            "assert len(rules.vendors) >= 300, len(rules.vendors); "
            "from tracker_block import clean_html; "
            "print(clean_html('<img src=\"https://us1.list-manage.com/track/open.php?u=1\">').findings[0].reason)")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path[:0] = [{str(site)!r}] + "
                          f"[p for p in {sys.path!r} if 'site-packages' in p]; " + code],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "rule:mailchimp/open"


def test_pip_install_in_a_fresh_venv_prints_no_deprecation_warning(tmp_path):
    """``pip install .`` as a new user runs it: maturin compiles the Rust core and warns about nothing.

    Offline: the fresh venv builds with this venv's maturin instead of downloading one.
    """
    import os
    import maturin
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    env = {**os.environ, "PYTHONPATH": str(Path(maturin.__file__).parent.parent), "PIP_NO_INDEX": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    p = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-v", "--no-deps",
                        "--no-build-isolation", "--disable-pip-version-check", str(ROOT)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout + p.stderr
    assert "Successfully installed tracker-block" in out
    noisy = [ln for ln in out.splitlines()
             if "eprecat" in ln or "absent from" in ln or "_Warning" in ln or "SetuptoolsWarning" in ln]
    assert noisy == [], "\n".join(noisy)
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert (site / "tracker_block/thunderbird_bridge/icons/icon.svg").is_file()
    assert list(site.glob("tracker_block/_core*.so")), "the compiled core is missing"
    meta = next(site.glob("tracker_block-*.dist-info")) / "METADATA"
    assert "License-Expression: MIT" in meta.read_text()
