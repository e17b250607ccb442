"""Browser tests: Playwright drives Debian's Chromium against a live Daphne server (HTTP and
WebSocket on one port) that shares the file-based test database.

Run them as their own pytest invocation (`pytest -m browser`, as `make test` and `.ci/run` do):
Playwright's sync API runs an event loop, so Django needs DJANGO_ALLOW_ASYNC_UNSAFE there.
Without Chromium they skip, saying why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_collection_modifyitems(config, items):
    reason = None
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        reason = f"Chromium not found at {CHROMIUM}; install it with `apt-get install chromium`"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "Playwright for Python is not installed (pip install playwright)"
    if reason:
        for item in items:
            if item.get_closest_marker("browser"):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


CSP_VIOLATIONS_TO_CONSOLE = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  const where = `${event.sourceFile || ""}:${event.lineNumber || ""}`;
  const html = event.target && event.target.outerHTML;
  const element = html ? html.slice(0, 160) : "";
  console.error(
    `CSP violation: ${event.violatedDirective} blocked ${blocked} at ${where} ${element}`
  );
});
"""


@pytest.fixture
def new_page(browser, live_server_url):
    """Pages in fresh contexts. Every console error and uncaught script error a page shows fails
    the test (an htmx attribute whose selector matches nothing, a script that throws); a page
    that means to load a refused URL lists the statuses in ``page.allowed_errors``."""
    contexts, errors = [], []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(
            base_url=live_server_url, viewport={"width": width, "height": height}
        )
        contexts.append(context)
        # A Content Security Policy violation (an inline style or script, a foreign connection)
        # is reported as a console error, so it fails the test like any other.
        context.add_init_script(CSP_VIOLATIONS_TO_CONSOLE)
        page = context.new_page()
        page.allowed_errors = []
        page.expected_console_errors = []  # texts a test provokes on purpose

        def on_console(message) -> None:
            if message.type != "error":
                return
            text = message.text
            if any(f"status of {code}" in text for code in page.allowed_errors):
                return
            if any(expected in text for expected in page.expected_console_errors):
                return
            errors.append(f"{page.url}: console: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"{page.url}: script error: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, "The browser reported errors:\n" + "\n".join(errors)


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def off_loop(function, *args, **kwargs):
    """Run database set-up on another thread: Playwright's event loop owns this one, and the
    services' after-commit broadcasts cannot run inside a running loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_closing_connections, function, *args, **kwargs).result()


def _closing_connections(function, *args, **kwargs):
    from django.db import connections

    try:
        return function(*args, **kwargs)
    finally:
        connections.close_all()
