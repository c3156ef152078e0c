"""Drawings read in worker processes: the same drawings and findings as in process, and
nothing lost when a worker dies."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import shapely

from engine.precheck import precheck
from parsers import pool
from parsers.dxf import read_drawing
from parsers.package import drawing_paths
from sample_data.defects import seeded_package
from schemas.profile import load_profile


@pytest.fixture
def small_is_big(monkeypatch):
    """Let the S package's few small drawings go to workers."""
    monkeypatch.setattr(pool, "MIN_FILES", 1)
    monkeypatch.setattr(pool, "MIN_BYTES", 0)


def _jobs(root: Path) -> list[pool.Job]:
    files = {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*.dxf")}
    return [(key, root / rel, rel) for key, rel in drawing_paths(files).items()]


def _same(a, b) -> None:
    (da, fa), (db, fb) = a, b
    assert fa == fb
    assert (da.path, da.readable, da.version, da.encoding, da.entity_count) == (
        db.path, db.readable, db.version, db.encoding, db.entity_count
    )
    for frame in ("shapes", "points", "texts"):
        x, y = getattr(da, frame), getattr(db, frame)
        assert x.drop(columns="geometry").equals(y.drop(columns="geometry")), frame
        assert shapely.equals_exact(x.geometry.values, y.geometry.values, tolerance=0).all(), frame


def test_workers_give_what_the_process_reads(sample_s, small_is_big, caplog):
    jobs = _jobs(sample_s)
    assert len(jobs) >= 3
    pending = pool.Readers(2).read(jobs)
    assert len(pending.workers) == 2
    for worker in pending.workers:  # let the workers take everything before the caller joins in
        worker.thread.join()
    assert not pending.queue and len(pending.got) == len(jobs)
    got = pending.collect()
    assert [key for key, _ in got] == [key for key, _, _ in jobs]
    for (_key, read), (_, path, rel) in zip(got, jobs, strict=True):
        _same(read, read_drawing(path, rel))
    assert "stopped" not in caplog.text  # every file came from a worker


def test_workers_have_ended_cleanly_when_collect_returns(sample_s, small_is_big):
    pending = pool.Readers(1).read(_jobs(sample_s))
    procs = [w.proc for w in pending.workers]
    pending.collect()
    assert [p.returncode for p in procs] == [0]  # reaped inside collect, exit code 0


def test_a_worker_that_dies_loses_nothing(sample_s, small_is_big, caplog):
    readers = pool.Readers(1)
    readers._workers[0].proc.send_signal(signal.SIGKILL)
    readers._workers[0].proc.wait()
    jobs = _jobs(sample_s)
    pending = readers.read(jobs)
    pending.workers[0].thread.join()
    assert pending.workers[0].lost is not None  # it died on the first file it was given
    got = pending.collect()
    assert "stopped" in caplog.text
    for (_key, read), (_, path, rel) in zip(got, jobs, strict=True):
        _same(read, read_drawing(path, rel))


def test_unused_readers_end(sample_s):
    readers = pool.Readers(2)
    procs = [w.proc for w in readers._workers]
    readers.close()
    assert [p.returncode for p in procs] == [0, 0]
    # a small package does not use them: they end too, and the files are read here
    readers = pool.Readers(2)
    procs = [w.proc for w in readers._workers]
    pending = readers.read(_jobs(sample_s))
    assert not pending.workers
    got = pending.collect()
    assert [p.wait(timeout=60) for p in procs] == [0, 0] and all(read[0].readable for _, read in got)


def test_precheck_with_workers_finds_the_same(tmp_path, small_is_big):
    """A damaged drawing read by a worker: its findings and places arrive all the same."""
    seeded = seeded_package(tmp_path / "pkg", "DXF-001")
    profile = load_profile()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    alone = precheck(seeded.path, profile, tmp_path / "a", workers=0)
    helped = precheck(seeded.path, profile, tmp_path / "b", workers=2)
    assert "DXF-001" in {f.code for f in helped.findings}
    assert [f.identity for f in helped.findings] == [f.identity for f in alone.findings]
    assert helped.verdict == alone.verdict


def test_read_workers_counts_cores():
    assert pool.read_workers(0) == 0 and pool.read_workers(3) == 3
    assert 0 <= pool.read_workers() <= pool.MAX_WORKERS
    assert pool.read_workers() <= len(os.sched_getaffinity(0)) - 1  # the caller reads too


def test_a_package_named_relative_to_the_working_folder(sample_s, small_is_big, monkeypatch, tmp_path):
    """Workers open the files this process means, whatever folder it runs in."""
    monkeypatch.chdir(sample_s.parent)
    relative = Path(sample_s.name)
    profile = load_profile()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    helped = precheck(relative, profile, tmp_path / "a", workers=1)
    alone = precheck(relative, profile, tmp_path / "b", workers=0)
    assert helped.counts["error"] == 0
    assert [f.identity for f in helped.findings] == [f.identity for f in alone.findings]
