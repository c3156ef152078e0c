"""The cyclic collector a check switches off comes back on, however checks overlap."""

from __future__ import annotations

import gc
import threading

import pytest

from engine.precheck import few_collections


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_collector_off_inside_and_back_on_after():
    with few_collections():
        assert not gc.isenabled()
        with few_collections():  # nested: still off
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_checks_in_threads_switch_it_back_on():
    inside, release = threading.Barrier(4), threading.Event()
    seen: list[bool] = []

    def check() -> None:
        with few_collections():
            inside.wait(timeout=10)
            seen.append(gc.isenabled())
            release.wait(timeout=10)

    threads = [threading.Thread(target=check) for _ in range(3)]
    for t in threads:
        t.start()
    inside.wait(timeout=10)
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert seen == [False] * 3
    assert gc.isenabled()


def test_an_error_inside_switches_it_back_on():
    with pytest.raises(RuntimeError), few_collections():
        raise RuntimeError("a failing check")
    assert gc.isenabled()


def test_a_collector_off_before_stays_off():
    gc.disable()
    with few_collections():
        assert not gc.isenabled()
    assert not gc.isenabled()
