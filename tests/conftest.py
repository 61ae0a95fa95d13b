"""Shared fixtures for the browser-judged tests: one headless Chromium behind a recording proxy per session."""
from __future__ import annotations

import os
import sys
from typing import Callable, Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from browser import Browser  # noqa: E402


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A started Chromium + loopback recording proxy, shared by the whole test session."""
    with Browser() as b:
        yield b


@pytest.fixture()
def render(browser: Browser) -> Callable[..., set[str]]:
    """``render(html, click=None) -> set of URLs`` the browser requested while showing ``html``."""
    return browser.render


def pytest_sessionfinish(session, exitstatus):
    """Collect garbage before the summary, so asyncio's notes about tasks of finished test servers
    are printed above pytest's closing line rather than after it."""
    import gc
    gc.collect()
