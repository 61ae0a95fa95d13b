"""Installer layout for Linux, macOS and Windows (pure path/registry logic, OS injected), and a
real install / doctor / uninstall round trip in a temporary HOME."""
from __future__ import annotations

import json
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from tracker_block.integrations.thunderbird import install as tb
from tracker_block.integrations.thunderbird.native_host import EXTENSION_ID, HOST_NAME


def test_linux_user_and_system_paths() -> None:
    p = tb.plan("linux", home="/home/ann", env={}, python="/opt/py/bin/python3")
    assert p.manifest_path == PurePosixPath("/home/ann/.mozilla/native-messaging-hosts/tracker_block.json")
    assert p.launcher_path == PurePosixPath("/home/ann/.local/share/tracker-block/native-host")
    assert p.launcher_text == '#!/bin/sh\nexec /opt/py/bin/python3 -m tracker_block.integrations.thunderbird.native_host "$@"\n'
    assert p.registry is None
    xdg = tb.plan("linux", home="/home/ann", env={"XDG_DATA_HOME": "/data/ann"})
    assert xdg.launcher_path == PurePosixPath("/data/ann/tracker-block/native-host")
    system = tb.plan("linux", system=True, home="/home/ann", env={})
    assert system.manifest_path == PurePosixPath("/usr/lib/mozilla/native-messaging-hosts/tracker_block.json")
    assert not str(system.launcher_path).startswith("/home/")
    assert tb.plan("freebsd14", home="/home/ann", env={}).manifest_path == p.manifest_path


def test_launcher_quotes_python_paths_with_spaces() -> None:
    p = tb.plan("darwin", home="/Users/ann", env={}, python="/Users/ann/My Tools/bin/python")
    assert "exec '/Users/ann/My Tools/bin/python' -m" in p.launcher_text
    assert tb._launcher_python(p.launcher_text) == "/Users/ann/My Tools/bin/python"


def test_macos_user_and_system_paths() -> None:
    p = tb.plan("darwin", home="/Users/ann", env={})
    assert p.manifest_path == PurePosixPath("/Users/ann/Library/Mozilla/NativeMessagingHosts/tracker_block.json")
    assert p.launcher_path == PurePosixPath("/Users/ann/Library/Application Support/tracker-block/native-host")
    system = tb.plan("darwin", system=True, home="/Users/ann", env={})
    assert system.manifest_path == PurePosixPath(
        "/Library/Application Support/Mozilla/NativeMessagingHosts/tracker_block.json")
    assert system.registry is None


def test_windows_registry_points_to_the_json() -> None:
    env = {"LOCALAPPDATA": r"C:\Users\ann\AppData\Local", "ProgramData": r"C:\ProgramData"}
    p = tb.plan("win32", home=r"C:\Users\ann", env=env, python=r"C:\Python312\python.exe")
    assert p.manifest_path == PureWindowsPath(r"C:\Users\ann\AppData\Local\tracker-block\tracker_block.json")
    assert p.registry == ("HKEY_CURRENT_USER", r"Software\Mozilla\NativeMessagingHosts\tracker_block",
                          r"C:\Users\ann\AppData\Local\tracker-block\tracker_block.json")
    assert p.launcher_path == PureWindowsPath(r"C:\Users\ann\AppData\Local\tracker-block\native-host.bat")
    assert p.launcher_text == '@echo off\r\n"C:\\Python312\\python.exe" -m tracker_block.integrations.thunderbird.native_host %*\r\n'
    assert tb._launcher_python(p.launcher_text) == r"C:\Python312\python.exe"
    assert p.manifest()["path"] == r"C:\Users\ann\AppData\Local\tracker-block\native-host.bat"
    system = tb.plan("win32", system=True, home=r"C:\Users\ann", env=env)
    assert system.registry[0] == "HKEY_LOCAL_MACHINE"
    assert system.registry[2] == r"C:\ProgramData\tracker-block\tracker_block.json"
    # LOCALAPPDATA missing: derived from the profile directory
    fallback = tb.plan("win32", home=r"C:\Users\bob", env={})
    assert fallback.manifest_path == PureWindowsPath(r"C:\Users\bob\AppData\Local\tracker-block\tracker_block.json")


def test_manifest_names_host_and_the_extensions_real_id() -> None:
    m = tb.plan("linux", home="/h", env={}).manifest()
    assert m["name"] == HOST_NAME and m["type"] == "stdio"
    assert m["allowed_extensions"] == [EXTENSION_ID] == [tb.extension_id()]
    assert m["path"] == "/h/.local/share/tracker-block/native-host"


def test_xpi_is_reproducible_with_manifest_at_root(tmp_path: Path) -> None:
    a = tb.build_xpi(tmp_path / "a.xpi")
    b = tb.build_xpi(tmp_path / "b.xpi")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    assert {"manifest.json", "background.js", "display.js", "display.css", "popup.html", "popup.js", "popup.css",
            "options.html", "options.js", "icons/button.svg"} <= names
    assert manifest["browser_specific_settings"]["gecko"]["id"] == EXTENSION_ID
    for f in manifest["background"]["scripts"] + [manifest["options_ui"]["page"]]:
        assert f in names


def test_install_doctor_uninstall_round_trip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRACKER_BLOCK_IMAGE_CACHE", str(tmp_path / "cache"))
    p = tb.plan(sys.platform, home=tmp_path, env={"HOME": str(tmp_path)}, python=sys.executable)
    before = tb.doctor(p)
    assert not all(ok for ok, _ in before) and "missing" in before[-1][1]
    tb.apply(p)
    launcher = Path(p.launcher_path)
    assert launcher.stat().st_mode & stat.S_IXUSR
    checks = tb.doctor(p)
    assert all(ok for ok, _ in checks), checks
    assert any("answered in" in msg and "tracker-block 0." in msg for _, msg in checks), checks
    assert any(msg.startswith("image cache") and msg.endswith("is writable") for _, msg in checks)

    # A manifest that does not allow our extension id is caught.
    manifest = Path(p.manifest_path)
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "allowed_extensions": ["other@example"]}))
    assert next(msg for ok, msg in tb.doctor(p) if not ok).startswith("extension id")
    manifest.write_text(json.dumps(data))

    # A launcher whose python is gone is caught (and the host cannot start).
    launcher.write_text(launcher.read_text().replace(sys.executable, str(tmp_path / "gone/python")))
    failed = [msg for ok, msg in tb.doctor(p) if not ok]
    assert any(m.startswith("python") for m in failed) and any("ping" in m for m in failed)

    removed = tb.remove(p)
    assert len(removed) == 3
    assert not manifest.exists() and not launcher.exists() and not Path(p.xpi_path).exists()


def test_cli_install_doctor_and_build_xpi(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TRACKER_BLOCK_IMAGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert tb.cli_main(["install"]) == 0
    assert "Install Add-on From File" in capsys.readouterr().out
    assert (tmp_path / ".mozilla/native-messaging-hosts/tracker_block.json").is_file()
    assert tb.cli_main(["doctor"]) == 0
    assert "FAIL" not in capsys.readouterr().out
    out = tmp_path / "dist" / "bridge.xpi"
    assert tb.cli_main(["build-xpi", "--out", str(out)]) == 0 and zipfile.is_zipfile(out)
    assert tb.cli_main(["uninstall"]) == 0
    assert tb.cli_main(["doctor"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_doctor_names_an_image_cache_it_cannot_write(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TRACKER_BLOCK_IMAGE_CACHE", str(blocker / "cache"))
    ok, msg = tb._cache_check()
    assert not ok and msg.startswith(f"image cache {blocker / 'cache'} is not writable"), msg
