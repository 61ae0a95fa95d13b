"""``tracker-block thunderbird install|uninstall|doctor|build-xpi``: wire the bridge into Thunderbird.

Thunderbird finds a native-messaging host through a JSON manifest in a per-OS place (on Windows,
through a registry key naming that JSON). Where things go is computed by :func:`plan` from an
explicit OS name, home directory and environment, so the layout for all three systems is testable
anywhere; only :func:`apply` touches the disk (and the registry on Windows).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from tracker_block.integrations.thunderbird.native_host import _LEN, EXTENSION_ID, HOST_NAME

XPI_NAME = "tracker-block-thunderbird.xpi"
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)   # fixed timestamps: the same sources give the same .xpi


@dataclass(frozen=True)
class Plan:
    """Everything install writes, for one OS and scope."""

    os_name: str                 # "linux" | "darwin" | "win32"
    system: bool
    manifest_path: PurePath      # the host manifest JSON
    launcher_path: PurePath      # the executable Thunderbird starts (manifest "path")
    launcher_text: str
    xpi_path: PurePath
    registry: tuple[str, str, str] | None   # (hive, key, default value) on Windows

    def manifest(self) -> dict[str, object]:
        return {
            "name": HOST_NAME,
            "description": "tracker-block: removes email trackers (native host for the Thunderbird bridge)",
            "path": str(self.launcher_path),
            "type": "stdio",
            "allowed_extensions": [EXTENSION_ID],
        }


def _os_name(platform: str) -> str:
    if platform.startswith("linux"):
        return "linux"
    if platform in ("darwin", "win32"):
        return platform
    return "linux"   # other Unixes use the Linux layout


def plan(os_name: str, *, system: bool = False, home: str | os.PathLike[str] | None = None,
         env: Mapping[str, str] | None = None, python: str | None = None) -> Plan:
    """Where the manifest, launcher and .xpi go for this OS and scope. Pure: no I/O."""
    os_name = _os_name(os_name)
    env = dict(os.environ if env is None else env)
    python = python or sys.executable
    name = f"{HOST_NAME}.json"
    registry = None
    if os_name == "win32":
        P: type[PurePath] = PureWindowsPath
        home_p = P(home or env.get("USERPROFILE", "C:\\Users\\Default"))
        if system:
            data = P(env.get("ProgramData", "C:\\ProgramData")) / "tracker-block"
            hive = "HKEY_LOCAL_MACHINE"
        else:
            data = P(env.get("LOCALAPPDATA", str(home_p / "AppData" / "Local"))) / "tracker-block"
            hive = "HKEY_CURRENT_USER"
        manifest = data / name
        launcher = data / "native-host.bat"
        launcher_text = f'@echo off\r\n"{python}" -m tracker_block.integrations.thunderbird.native_host %*\r\n'
        registry = (hive, f"Software\\Mozilla\\NativeMessagingHosts\\{HOST_NAME}", str(manifest))
    else:
        P = PurePosixPath
        home_p = P(home or env.get("HOME", "/"))
        if os_name == "darwin":
            if system:
                manifest = P("/Library/Application Support/Mozilla/NativeMessagingHosts") / name
                data = P("/Library/Application Support/tracker-block")
            else:
                manifest = home_p / "Library/Mozilla/NativeMessagingHosts" / name
                data = home_p / "Library/Application Support/tracker-block"
        elif system:
            manifest = P("/usr/lib/mozilla/native-messaging-hosts") / name
            data = P("/usr/local/lib/tracker-block")
        else:
            manifest = home_p / ".mozilla/native-messaging-hosts" / name
            xdg = env.get("XDG_DATA_HOME")
            data = (P(xdg) if xdg else home_p / ".local/share") / "tracker-block"
        launcher = data / "native-host"
        launcher_text = f"#!/bin/sh\nexec {shlex.quote(python)} -m tracker_block.integrations.thunderbird.native_host \"$@\"\n"
    return Plan(os_name, system, manifest, launcher, launcher_text, data / XPI_NAME, registry)


def current_plan(system: bool = False) -> Plan:
    return plan(sys.platform, system=system)


# --- the extension ---------------------------------------------------------------------------

def bridge_dir() -> Path:
    """The MailExtension sources, shipped inside the package beside this module."""
    return Path(__file__).resolve().parent / "bridge"


def extension_id(source: Path | None = None) -> str:
    manifest = json.loads(((source or bridge_dir()) / "manifest.json").read_text(encoding="utf-8"))
    return manifest["browser_specific_settings"]["gecko"]["id"]


def build_xpi(out: str | os.PathLike[str], source: Path | None = None) -> Path:
    """Zip the extension (manifest.json at the root) reproducibly."""
    source = source or bridge_dir()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in source.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)
                   and p.suffix not in (".md", ".pyc"))
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            info = zipfile.ZipInfo(p.relative_to(source).as_posix(), _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, p.read_bytes())
    os.replace(tmp, out)
    return out


# --- applying a plan -------------------------------------------------------------------------

def apply(p: Plan) -> list[str]:
    """Write the launcher, host manifest, .xpi (and registry key on Windows). Returns what was done."""
    done = []
    launcher = Path(p.launcher_path)
    launcher.parent.mkdir(parents=True, exist_ok=True)
    launcher.write_text(p.launcher_text, encoding="utf-8", newline="")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    done.append(f"launcher      {launcher}")
    manifest = Path(p.manifest_path)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(p.manifest(), indent=2) + "\n", encoding="utf-8")
    done.append(f"host manifest {manifest}")
    if p.registry:
        _write_registry(*p.registry)
        done.append(f"registry      {p.registry[0]}\\{p.registry[1]} = {p.registry[2]}")
    xpi = build_xpi(p.xpi_path)
    done.append(f"extension     {xpi}")
    return done


def remove(p: Plan) -> list[str]:
    done = []
    for path in (p.manifest_path, p.launcher_path, p.xpi_path):
        try:
            Path(path).unlink()
            done.append(f"removed {path}")
        except FileNotFoundError:
            pass
    if p.registry and _delete_registry(p.registry[0], p.registry[1]):
        done.append(f"removed {p.registry[0]}\\{p.registry[1]}")
    return done


def _hive(name: str):  # pragma: no cover - Windows only
    import winreg

    return getattr(winreg, name)


def _write_registry(hive: str, key: str, value: str) -> None:  # pragma: no cover - Windows only
    import winreg

    with winreg.CreateKey(_hive(hive), key) as k:
        winreg.SetValueEx(k, "", 0, winreg.REG_SZ, value)


def _read_registry(hive: str, key: str) -> str | None:  # pragma: no cover - Windows only
    import winreg

    try:
        with winreg.OpenKey(_hive(hive), key) as k:
            return winreg.QueryValueEx(k, "")[0]
    except OSError:
        return None


def _delete_registry(hive: str, key: str) -> bool:  # pragma: no cover - Windows only
    import winreg

    try:
        winreg.DeleteKey(_hive(hive), key)
        return True
    except OSError:
        return False


# --- doctor ----------------------------------------------------------------------------------

def ping_host(command: list[str], timeout: float = 15.0, env: Mapping[str, str] | None = None,
              request: str = "ping") -> dict:
    """Start the host like Thunderbird does, send one framed request (ping), return the reply."""
    body = json.dumps({"id": 1, "type": request}).encode()
    proc = subprocess.run(command + ["doctor", EXTENSION_ID], input=_LEN.pack(len(body)) + body,
                          capture_output=True, timeout=timeout, check=False,
                          env=None if env is None else dict(env))
    out = proc.stdout
    if len(out) < _LEN.size:
        raise RuntimeError(f"no reply (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[-300:]}")
    (size,) = _LEN.unpack(out[:_LEN.size])
    reply = json.loads(out[_LEN.size:_LEN.size + size])
    if len(out) != _LEN.size + size:
        raise RuntimeError("host wrote extra bytes to stdout")
    return reply


def doctor(p: Plan) -> list[tuple[bool, str]]:
    """Checks that everything Thunderbird needs is in place, each as (ok, message)."""
    checks: list[tuple[bool, str]] = []
    manifest_path = Path(p.manifest_path)
    if p.registry:
        value = _read_registry(p.registry[0], p.registry[1])
        checks.append((value is not None, f"registry key {p.registry[0]}\\{p.registry[1]} -> {value}"))
        if value:
            manifest_path = Path(value)
    if not manifest_path.is_file():
        checks.append((False, f"host manifest missing: {manifest_path} (run `tracker-block thunderbird install`)"))
        return checks
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        checks.append((False, f"host manifest unreadable: {manifest_path}: {exc}"))
        return checks
    checks.append((manifest.get("name") == HOST_NAME, f"host manifest {manifest_path} (name {manifest.get('name')!r})"))
    ext_id = extension_id()
    allowed = manifest.get("allowed_extensions") or []
    checks.append((ext_id in allowed, f"extension id {ext_id} in allowed_extensions {allowed}"))
    launcher = Path(str(manifest.get("path", "")))
    executable = launcher.is_file() and (p.os_name == "win32" or os.access(launcher, os.X_OK))
    checks.append((executable, f"host launcher {launcher} {'is executable' if executable else 'is missing or not executable'}"))
    if executable:
        python = _launcher_python(launcher.read_text(encoding="utf-8", errors="replace"))
        ok = bool(python) and Path(python).is_file()
        checks.append((ok, f"python {python or '(not found in launcher)'}"))
        try:
            started = time.monotonic()
            reply = ping_host([str(launcher)], request="hello")
            ok = reply.get("ok") is True and bool(reply.get("host_version"))
            checks.append((ok, f"host started and answered in {time.monotonic() - started:.2f}s: tracker-block "
                               f"{reply.get('host_version')}, its log is {reply.get('log')}"))
        except Exception as exc:  # noqa: BLE001 - reported to the user
            checks.append((False, f"host did not answer a ping: {exc}"))
    checks.append(_cache_check())
    xpi = Path(p.xpi_path)
    checks.append((xpi.is_file(), f"extension package {xpi}" + ("" if xpi.is_file() else " missing")))
    return checks


def _cache_check() -> tuple[bool, str]:
    """The safe-image cache must be writable, or images fetched at arrival cannot be kept."""
    from tracker_block.integrations.thunderbird.image_cache import default_cache_dir

    root = default_cache_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".doctor.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return False, f"image cache {root} is not writable: {exc.strerror or exc}"
    return True, f"image cache {root} is writable"


def _launcher_python(text: str) -> str | None:
    for line in text.splitlines():
        if "tracker_block.integrations.thunderbird.native_host" in line:
            line = line.strip()
            if line.startswith("exec "):
                return shlex.split(line)[1]
            if line.startswith('"'):
                return line[1:line.index('"', 1)]
    return None


# --- command line ----------------------------------------------------------------------------

def cli_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tracker-block thunderbird",
                                     description="Connect tracker-block to Thunderbird.")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="write the native-host manifest and build the extension")
    inst.add_argument("--system", action="store_true", help="install for all users (needs admin rights)")
    uninst = sub.add_parser("uninstall", help="remove what install wrote")
    uninst.add_argument("--system", action="store_true")
    doc = sub.add_parser("doctor", help="check that Thunderbird can reach the host")
    doc.add_argument("--system", action="store_true")
    xpi = sub.add_parser("build-xpi", help="build the extension package")
    xpi.add_argument("--out", default=XPI_NAME, help=f"output path (default ./{XPI_NAME})")
    args = parser.parse_args(argv)

    if args.command == "build-xpi":
        print(build_xpi(args.out))
        return 0
    p = current_plan(system=args.system)
    if args.command == "install":
        try:
            done = apply(p)
        except PermissionError as exc:
            print(f"error: {exc} (try without --system, or with admin rights)", file=sys.stderr)
            return 1
        print("\n".join(done))
        print(f"\nNow in Thunderbird: Tools > Add-ons and Themes > gear menu > Install Add-on From File…\n"
              f"  and choose {p.xpi_path}\nThen run `tracker-block thunderbird doctor` to check the wiring.")
        return 0
    if args.command == "uninstall":
        done = remove(p)
        print("\n".join(done) if done else "nothing to remove")
        print("Remove the add-on in Thunderbird too (Add-ons and Themes > tracker-block > Remove).")
        return 0
    checks = doctor(p)
    for ok, msg in checks:
        print(f"{'ok  ' if ok else 'FAIL'}  {msg}")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(cli_main())
