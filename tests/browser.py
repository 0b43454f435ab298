"""Browser tests: Debian's headless Chromium driven by Playwright, against real daphne processes.

Playwright's own browser builds are downloaded by ``playwright install``; this project uses the
distribution's Chromium instead (installed by scripts/setup.sh), which needs no download.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import Page, expect, sync_playwright

from accounts.models import User
from tests.servers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots to look at after a run; git-ignored.
ARTIFACTS = ROOT / "test-artifacts"
# The sizes the pages are checked at: a laptop's window, and a phone's (an iPhone 12 to 15).
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A page of a fresh headless Chromium, closed afterwards; the page's waits and ``expect``'s
    give up after 15 s (``expect`` would after 5), room enough for a busy machine."""
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ and print where."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def overflows_sideways(page: Page) -> bool:
    """Whether the page is wider than its viewport (something sticks out on the right)."""
    wider: bool = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    return wider


def set_password_for_daphne(user: User, password: str) -> None:
    """Give ``user`` a password hashed as daphne checks it: with the project's hashers, not the
    fast one the test process uses (tests/conftest.py), which daphne does not know."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt())
    user.save(update_fields=["password"])
