"""A real browser (Debian's chromium through Playwright, never a downloaded one) on a phone
viewport (390×844): a firm logs in, uploads the S sample and sees the verdict; the page is
one column (nothing wider than the screen). Screenshots go to the test's folder. Skipped
only when chromium is absent and CI is not set."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.web.conftest import PASSWORD
from tests.web.test_serve import _zip_dir, server  # noqa: F401 - the fixture

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI") and not os.environ.get("DUOCE_CI"),
    reason="Debian chromium not installed (apt-get install chromium)",
)


def test_a_firm_on_a_phone_uploads_the_s_sample_and_sees_its_verdict(server, sample_s, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    base, _ = server
    package = _zip_dir(sample_s, tmp_path / "S.zip")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    has_touch=True)
            page.goto(base + "/login")
            page.fill("input[name=username]", "firm_a")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/packages")
            page.screenshot(path=str(tmp_path / "packages-phone.png"), full_page=True)
            page.set_input_files("input[name=package]", str(package))
            page.click("form[action='/packages'] button[type=submit]")
            page.wait_for_selector("#verdict", timeout=180_000)  # the page refreshes itself
            assert page.inner_text("#verdict") == "通过"
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"wider than the phone: {width}px"
            page.screenshot(path=str(tmp_path / "package-phone.png"), full_page=True)
        finally:
            browser.close()
