"""In CI (``.ci/run`` exports ``DUOCE_CI=1``) the report's real-browser test must run: its
skip condition is read from the test itself and must be false there."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.outputs import test_html_report

BROWSER_TEST = test_html_report.test_renders_in_headless_chromium_at_phone_width


@pytest.mark.skipif(os.environ.get("DUOCE_CI") != "1", reason="outside CI (.ci/run sets DUOCE_CI=1)")
def test_the_real_browser_test_is_not_skipped_in_ci():
    skips = [m for m in getattr(BROWSER_TEST, "pytestmark", []) if m.name in ("skipif", "skip")]
    assert skips, "the browser test has no skip condition to check: update this test"
    for mark in skips:
        assert mark.name == "skipif" and not any(bool(c) for c in mark.args), (
            f"in CI the browser test would be skipped: {mark.kwargs.get('reason')}"
        )
    done = subprocess.run([str(test_html_report.CHROMIUM), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Chromium" in done.stdout, done.stderr


def test_ci_script_exports_the_marker():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", ".ci", "run"), encoding="utf-8") as f:
        assert "export DUOCE_CI=1" in f.read()
