"""Shared UI test helpers: launch the real app on a free port, and a real headless Chromium (Playwright).

Usage::

    from tests.ui import launched_app, chromium_page

    def test_x(cft_home):
        with launched_app() as url:
            client = gradio_client.Client(url)

    def test_y(browser_page):      # fixture: a Playwright page, headless Debian chromium
        ...

The app is built inside the test (after the autouse ``cft_home`` fixture moved CFT_HOME), so every test sees
its own workspace.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launched_app(**overrides):
    """``build_app()`` launched with ``launch_kwargs()`` on a free port; yields the URL, closes on exit."""
    import app as app_module

    demo = app_module.build_app()
    kwargs = {**app_module.launch_kwargs(), **overrides}
    demo.queue().launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **kwargs
    )
    try:
        yield demo.local_url.rstrip("/") + "/"
    finally:
        demo.close()


@pytest.fixture
def browser_page():
    """A fresh page in headless Debian chromium, 1400x1000, closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            browser.close()
