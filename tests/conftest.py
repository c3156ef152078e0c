"""Test set-up: Prefect runs against a throw-away home, never the network."""

from __future__ import annotations

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="duoce-prefect-")
os.environ.setdefault("PREFECT_HOME", _HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test harness for the whole session (10–20 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def sample_s(tmp_path_factory):
    """The clean sample package S, written once for the session (read-only use)."""
    from sample_data import make_package

    return make_package(tmp_path_factory.mktemp("sample-s"), "S")
