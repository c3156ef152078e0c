"""The collector threshold a check raises is restored, however checks overlap."""

from __future__ import annotations

import gc
import threading

import pytest

from engine.precheck import GC_BATCH_THRESHOLD, few_collections


def test_threshold_raised_inside_and_restored_after():
    before = gc.get_threshold()
    with few_collections():
        assert gc.get_threshold()[0] == GC_BATCH_THRESHOLD
        with few_collections():  # nested: still raised
            assert gc.get_threshold()[0] == GC_BATCH_THRESHOLD
        assert gc.get_threshold()[0] == GC_BATCH_THRESHOLD
    assert gc.get_threshold() == before


def test_overlapping_checks_in_threads_restore_the_threshold():
    before = gc.get_threshold()
    inside, release = threading.Barrier(4), threading.Event()
    seen: list[int] = []

    def check() -> None:
        with few_collections():
            inside.wait(timeout=10)
            seen.append(gc.get_threshold()[0])
            release.wait(timeout=10)

    threads = [threading.Thread(target=check) for _ in range(3)]
    for t in threads:
        t.start()
    inside.wait(timeout=10)
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert seen == [GC_BATCH_THRESHOLD] * 3
    assert gc.get_threshold() == before


def test_an_error_inside_restores_the_threshold():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), few_collections():
        raise RuntimeError("a failing check")
    assert gc.get_threshold() == before
