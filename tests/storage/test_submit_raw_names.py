"""`duoce submit`, `verify-store` and `rerun` on a package folder whose file names are not
UTF-8 (GBK bytes, as a copy from Windows leaves them on Linux): no traceback, and the
store keeps every name byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sample_data import make_package
from storage.files import package_sha256
from storage.store import Store
from tests.storage.test_concurrent_submit import child_env, duoce, finish
from tests.storage.test_store import RAW_NAMES, raw_listing, snapshot


@pytest.mark.sqlite_only
def test_submit_verify_and_rerun_keep_names_that_are_not_utf8(
    prefect_harness, tmp_path: Path
) -> None:
    """SQLite only for now: ``duoce rerun`` refuses a store folder without
    ``catalogue.sqlite`` even when its catalogue is in ``DUOCE_DATABASE_URL``
    (interfaces/cli.py ``store_root``); the names' bytes on PostgreSQL are tested in
    test_store.py."""
    package = make_package(tmp_path / "packages", "S")
    for name in RAW_NAMES:  # unlisted in manifest.json: PKG-005 warnings, nothing worse
        target = os.path.join(os.fsencode(package), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(name + b"\n")
    sha = package_sha256(package)
    root = tmp_path / "store"
    env = child_env(tmp_path, "cli")

    code, output = finish(duoce("submit", str(package), "--store", str(root), env=env))

    assert code in (0, 1), output[-3000:]
    assert "版本 r1（新版本）" in output
    store = Store(root)
    raw = store.raw_path(sha)
    assert raw is not None and raw_listing(raw) == raw_listing(package) >= set(RAW_NAMES)
    archived = next(p.path for p in store.products("archive"))
    assert raw_listing(archived / "package" / sha) == raw_listing(package)

    code, output = finish(duoce("verify-store", "--store", str(root), env=env))
    assert code == 0 and "全部完好" in output, output[-3000:]

    code, output = finish(duoce("rerun", "--store", str(root), "--all", env=env))
    assert code == 0 and "损坏 0 个" in output, output[-3000:]

    before = (snapshot(root / "raw"), snapshot(root / "products"))
    code, output = finish(duoce("submit", str(package), "--store", str(root), env=env))
    assert code in (0, 1) and "与已有版本相同" in output, output[-3000:]
    assert (snapshot(root / "raw"), snapshot(root / "products")) == before
    code, output = finish(duoce("verify-store", "--store", str(root), env=env))
    assert code == 0, output[-3000:]
