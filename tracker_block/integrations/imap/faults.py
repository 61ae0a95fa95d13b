"""Crash-test hook: ``TRACKER_BLOCK_IMAP_FAULT=STEP[:N]`` makes the process SIGKILL itself the
N-th time (default 1st) it reaches STEP of the append / verify / move sequence.

The tests use it to prove that a kill -9 at any step, then a restart, leaves every message
exactly once. Unset (always, in normal use) it costs one dictionary look-up per step.
"""
from __future__ import annotations

import os
import signal

STEPS = ("journaled", "appended", "verified", "copied", "flagged", "moved")
_seen: dict[str, int] = {}


def step(name: str) -> None:
    spec = os.environ.get("TRACKER_BLOCK_IMAP_FAULT")
    if not spec:
        return
    want, _, nth = spec.partition(":")
    if want != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
