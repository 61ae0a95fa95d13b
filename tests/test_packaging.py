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
                   "tracker_block/integrations/thunderbird/bridge/manifest.json"):
        assert needed in names, needed
    # run from an unrelated directory with only the wheel's contents on the path (no source tree)
    code = ("import tracker_block, tracker_block.engine.rules as r; "
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
    assert (site / "tracker_block/integrations/thunderbird/bridge/icons/icon.svg").is_file()
    assert list(site.glob("tracker_block/_core*.so")), "the compiled core is missing"
    meta = next(site.glob("tracker_block-*.dist-info")) / "METADATA"
    assert "License-Expression: MIT" in meta.read_text()


def test_sdist_carries_what_a_build_needs_and_builds_offline_into_an_importable_core(tmp_path):
    """``maturin sdist`` then ``pip install tracker_block-*.tar.gz`` in a fresh venv, as a user without the repo.

    Offline (this venv's maturin, no build isolation); the crate's dependencies come from the shared
    target directory (core/target), so only the crate itself compiles.
    """
    import os
    import tarfile
    import maturin
    env = {**os.environ, "CARGO_TARGET_DIR": str(ROOT / "core" / "target"), "PIP_NO_INDEX": "1",
           "PYTHONPATH": str(Path(maturin.__file__).parent.parent),
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    subprocess.run([sys.executable, "-m", "maturin", "sdist", "--out", str(tmp_path / "dist")], cwd=ROOT,
                   check=True, capture_output=True, timeout=120, env=env)
    [sdist] = list((tmp_path / "dist").glob("tracker_block-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    crate_sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "core" / "src").rglob("*.rs")}
    assert crate_sources and crate_sources <= names, crate_sources - names
    rule_data = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tracker_block" / "ruledata").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert rule_data <= names, rule_data - names
    for needed in ("pyproject.toml", "core/Cargo.toml", "core/Cargo.lock", "LICENSE", "README.md",
                   "tracker_block/__init__.py", "tracker_block/integrations/thunderbird/bridge/manifest.json"):
        assert needed in names, needed
    assert not any(n.startswith(("core/target/", "tests/", ".venv/")) or n.endswith(".so") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    p = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                        "--no-build-isolation", "--disable-pip-version-check", str(sdist)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    # tracker_block from the fresh venv; its pure-Python dependencies borrowed from this one (appended last)
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    code = (f"import sys; sys.path.append({deps!r}); import tracker_block, tracker_block._core as core; "
            f"assert {str(venv)!r} in core.__file__, core.__file__; from tracker_block import clean_html; "
            "print(clean_html('<img src=\"https://us1.list-manage.com/track/open.php?u=1\">').findings[0].reason)")
    out = subprocess.run([str(venv / "bin" / "python"), "-I", "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "rule:mailchimp/open"
