"""Screenshots for the docs, taken in headless Chromium from the demo stack's api-server.

``docs/_static/screenshots/connection-form.png`` (used by ``docs/connections/index.md``) is
Airflow's own *Add Connection* form for the ``seedance`` type, so it shows what users see,
not a drawing. The test also checks the form itself: the platform choice offers exactly the
platform registry's keys with ``fal`` preselected, the relabelled fields are there, and the
hidden ones are not.

Chromium is Debian's (``scripts/install_chromium.sh``), driven by Playwright through
``executable_path``; ``playwright install`` is never run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_seedance.client.platforms.registry import DEFAULT_PLATFORM, DIALECTS
from scripts.stack import Stack
from tests.support.browser import CHROMIUM, launch

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "_static" / "screenshots"


def _log_in(page: Any, api_url: str, username: str, password: str) -> None:
    page.goto(f"{api_url}/auth/login/", wait_until="networkidle")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{api_url}/", timeout=30_000)


def capture_connection_form(
    api_url: str, username: str, password: str, out: Path, standard_out: Path
) -> dict[str, Any]:
    """Open *Add Connection* for a ``seedance`` connection and return what the form shows (field
    labels per section, the platform choices and the preselected one). Screenshots: the
    *Extra Fields* section (the platform choice) to ``out``, the *Standard Fields* section to
    ``standard_out``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            _log_in(page, api_url, username, password)
            page.goto(f"{api_url}/connections", wait_until="networkidle")
            page.get_by_role("button", name="Add Connection").click()
            dialog = page.get_by_role("dialog")
            dialog.locator("input[name=connection_id]").fill("seedance_default")
            dialog.get_by_role("combobox").first.fill("Seedance")
            page.keyboard.press("Enter")
            dialog.get_by_text("Standard Fields", exact=True).wait_for()
            dialog.get_by_text("API Key", exact=True).wait_for()
            out.parent.mkdir(parents=True, exist_ok=True)
            standard = _labels(dialog)
            _still(page)
            dialog.screenshot(path=str(standard_out), animations="disabled")
            dialog.get_by_text("Extra Fields", exact=True).click()  # the accordion shows one section
            platform = dialog.locator("#element_platform")
            platform.wait_for()
            selected = platform.inner_text().strip()
            platform.get_by_role("combobox").click()
            choices = [o.inner_text().strip() for o in page.get_by_role("option").all()]
            dialog.get_by_role("heading", name="Add Connection").click()  # close the menu, keep the dialog
            page.get_by_role("option").first.wait_for(state="detached")
            extra = _labels(dialog)
            _still(page)
            dialog.screenshot(path=str(out), animations="disabled")
            return {"standard": standard, "extra": extra, "choices": choices, "selected": selected}
        finally:
            browser.close()


def _still(page: Any) -> None:
    """No focus ring, no hover: the same form gives the same picture on every run."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)


def _labels(dialog: Any) -> list[str]:
    return [
        " ".join(label.inner_text().replace("*", "").split())
        for label in dialog.locator("label").all()
        if label.is_visible()
    ]


@pytest.fixture(scope="module")
def chromium_available() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_chromium.sh (make setup does)")


def test_connection_form_screenshot(local_stack: Stack, chromium_available: None) -> None:
    out = SCREENSHOTS / "connection-form.png"
    standard_out = SCREENSHOTS / "connection-form-standard.png"
    seen = capture_connection_form(
        local_stack.api_url, local_stack.username, local_stack.password, out, standard_out
    )

    assert {"Base URL (optional)", "API Key"} <= set(seen["standard"]), seen
    assert not {"Schema", "Port", "Login"} & set(seen["standard"]), seen  # the hidden fields
    assert {"Platform", "Request timeout (s)"} <= set(seen["extra"]), seen
    assert seen["selected"] == DEFAULT_PLATFORM
    # The registry's keys in its order; the form also offers "null" because the field's schema
    # allows an empty platform (meaning the default).
    assert [c for c in seen["choices"] if c != "null"] == list(DIALECTS), seen
    for png in (out, standard_out):
        assert png.stat().st_size > 10_000  # a real rendering, not an empty page
