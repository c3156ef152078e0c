"""Every bad package of the corpus through ``duoce check`` and ``precheck``: the codes it
must give (and no others), the exit code, no traceback, no internal error, nothing
written outside the work folder, and bounded time (and, for the largest, memory)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.precheck import precheck
from interfaces.cli import app
from schemas.catalogue import CATALOGUE
from schemas.profile import load_profile
from tests.corpus.builders import BUGS, BUILDERS, EVIL, Case
from tests.corpus.hostile import HOSTILE  # checked under RLIMIT_AS by test_hostile.py

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
# run once, in a real process that can be killed, with its time and memory measured: too
# big to check twice in-process, able to hang the test process if the checker regressed, or
# (undecodable file names) able to leave interfaces.cli's Rich console broken for later tests
ISOLATED = {
    "huge-unit-sheet",
    "xlsx-inner-bomb",
    "xlsx-inner-bomb-rows",
    "xlsx-inner-lying-header",
    "directory-with-fifo",
    "dir-gbk-name",
    "dir-undecodable-name",
}
# a few also through a real `python -m interfaces.cli check`, to see what a firm's terminal shows
REAL_PROCESS = (
    "truncated-site-50pct",
    "zip-parent-path",
    "report-xlsx-is-csv",
    "empty-directory",
    "zip-bomb",
)


def params(names) -> list:
    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=BUGS[n])) if n in BUGS else n
        for n in names
    ]


def snapshot(root: Path, *exclude: Path) -> dict[str, int]:
    """Every path under ``root`` (but the excluded folders) with its size."""
    out = {}
    for p in root.rglob("*"):
        if any(p == e or e in p.parents for e in exclude):
            continue
        out[str(p.relative_to(root))] = p.stat(follow_symlinks=False).st_size
    return out


def matches(obj: dict[str, Any], place: dict[str, Any]) -> bool:
    return all(obj.get(k) == v for k, v in place.items())


def assert_findings(case: Case, findings: list[dict[str, Any]]) -> None:
    codes = {f["code"] for f in findings}
    assert case.codes <= codes, (
        f"{case.name}: missing {sorted(case.codes - codes)}; got {sorted(codes)}"
    )
    extra = codes - case.allowed
    assert not extra, (
        f"{case.name}: unexpected {sorted(extra)}: "
        + "; ".join(f["message"] for f in findings if f["code"] in extra)[:2000]
    )
    for code, place in case.places:
        assert any(f["code"] == code and matches(f["object"], place) for f in findings), (
            f"{case.name}: no {code} at {place}; {code} found at "
            f"{[f['object'] for f in findings if f['code'] == code][:5]}"
        )
    for f in findings:
        assert (
            f["code"] in CATALOGUE
            and f["severity"] in ("error", "warning", "info")
            and f["message"]
        )


class DiskWatch:
    """The largest number of bytes under a folder while something runs (sampled)."""

    def __init__(self, folder: Path, every: float = 0.02) -> None:
        self.folder, self.every, self.peak = folder, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        total = 0
        for dirpath, _dirs, names in os.walk(self.folder):
            for n in names:
                try:
                    total += os.lstat(os.path.join(dirpath, n)).st_size
                except OSError:
                    pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._size())
            time.sleep(self.every)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._size())


DISK_BOUND = 64 << 20  # a few files of S are extracted; never a bomb's gigabytes


@pytest.mark.parametrize("name", params(sorted(set(BUILDERS) - ISOLATED - HOSTILE)))
def test_bad_package(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = BUILDERS[name](tmp_path / "pkg")
    work, out = tmp_path / "work", tmp_path / "out"
    monkeypatch.setenv("DUOCE_WORKDIR", str(work))
    evil_before = Path("/tmp", EVIL).exists()
    before = snapshot(tmp_path, work, out)
    args = ["check", str(case.path), "--json", str(out / "findings.json")]
    if case.profile:
        args += ["--profile", str(case.profile)]

    with DiskWatch(work) as disk:
        start = time.perf_counter()
        result = runner.invoke(app, args)
        elapsed = time.perf_counter() - start

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "内部错误" not in result.output, result.output[
        -3000:
    ]
    assert result.exit_code == case.exit_code, result.output[-3000:]
    assert elapsed < case.seconds, f"{name}: {elapsed:.1f} s"
    doc = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert_findings(case, doc["findings"])
    assert doc["verdict"] == ("rejected" if case.exit_code else "accepted")
    # nothing written anywhere but the work folder, and the work folder left empty
    assert snapshot(tmp_path, work, out) == before
    assert not work.exists() or not any(work.iterdir())
    assert Path("/tmp", EVIL).exists() == evil_before
    assert disk.peak < DISK_BOUND, f"{name}: {disk.peak} bytes extracted"

    # the pure entry point gives the same, and no rule crashed
    profile = load_profile(case.profile) if case.profile else load_profile()
    checked = precheck(case.path, profile, tmp_path / "work2")
    assert checked.internal_errors == []
    assert sorted(f.code for f in checked.findings) == sorted(f["code"] for f in doc["findings"])
    if case.verify:
        case.verify(checked)


# Linux keeps a process's peak RSS across exec, and a process started by (v)fork + exec is
# charged with its parent's memory at that moment: a child of a large pytest process would
# report pytest's size. So the CLI is started by a small launcher, which reports the CLI's
# own peak (its ru_maxrss, in KiB) into a file.
_LAUNCH = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_cli(
    args: list[str], env: dict[str, str], timeout: float
) -> tuple[int, str, str, float, int]:
    """``python -m interfaces.cli …`` in a real process: exit code, stdout, stderr, seconds and
    peak resident memory (bytes) of that process."""
    fd, rss_file = tempfile.mkstemp(prefix="duoce-rss-")
    os.close(fd)
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, rss_file, sys.executable, "-m", "interfaces.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a timeout ends launcher and CLI
    ) as proc:
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        # read both pipes while the child runs (a full pipe would block it)
        chunks: dict[str, bytes] = {}
        readers = [
            threading.Thread(target=lambda k=k, s=s: chunks.__setitem__(k, s.read()))
            for k, s in (("out", proc.stdout), ("err", proc.stderr))
        ]
        for r in readers:
            r.start()
        proc.wait()
        for r in readers:
            r.join()
        timer.cancel()
    elapsed = time.perf_counter() - start
    rss_text = Path(rss_file).read_text()
    os.unlink(rss_file)
    decode = lambda b: b.decode("utf-8", "replace")  # noqa: E731
    return (
        proc.returncode,
        decode(chunks["out"]),
        decode(chunks["err"]),
        elapsed,
        int(rss_text or 0) * 1024,
    )


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUOCE_", "PYTEST"))}
    env.update(DUOCE_WORKDIR=str(tmp_path / "work"), PYTHONIOENCODING="utf-8", COLUMNS="200")
    return env


@pytest.mark.parametrize("name", params(REAL_PROCESS))
def test_a_real_process_prints_findings_not_a_traceback(name: str, tmp_path: Path) -> None:
    case = BUILDERS[name](tmp_path / "pkg")
    out = tmp_path / "findings.json"
    code, stdout, stderr, elapsed, _rss = run_cli(
        ["check", str(case.path), "--json", str(out)], cli_env(tmp_path), 120
    )
    assert "Traceback" not in stdout + stderr and "内部错误" not in stdout + stderr, stderr[-3000:]
    assert code == case.exit_code, stdout[-2000:] + stderr[-2000:]
    assert elapsed < 60 + case.seconds
    assert_findings(case, json.loads(out.read_text(encoding="utf-8"))["findings"])
    assert all(c in stdout for c in case.codes)  # the summary names the codes


RSS_BOUND = 1_500_000_000


@pytest.mark.parametrize("name", params(sorted(ISOLATED)))
def test_in_a_real_process_in_bounded_time_and_memory(name: str, tmp_path: Path) -> None:
    case = BUILDERS[name](tmp_path / "pkg")
    out = tmp_path / "findings.json"
    code, stdout, stderr, elapsed, rss = run_cli(
        ["check", str(case.path), "--json", str(out)], cli_env(tmp_path), 2 * case.seconds
    )
    assert "Traceback" not in stdout + stderr and "内部错误" not in stdout + stderr, stderr[-3000:]
    assert code == case.exit_code, stderr[-2000:]
    assert elapsed < case.seconds, f"{elapsed:.1f} s"
    assert rss < (case.max_rss or RSS_BOUND), f"peak RSS {rss / 1e6:.0f} MB"
    assert_findings(case, json.loads(out.read_text(encoding="utf-8"))["findings"])


def test_the_corpus_is_big_enough_and_names_its_codes() -> None:
    assert len(BUILDERS) >= 40
    tried = {n.split("/")[0] for n in BUILDERS}
    for must in (
        "truncated-floor-10pct",
        "truncated-site-50pct",
        "truncated-parcel-99pct",
        "empty-dxf",
        "xlsx-named-dxf",
        "binary-dxf",
        "dwg-instead-of-dxf",
        "gbk-declared-ansi1252",
        "r2010-chinese-text",
        "polyline-not-lwpolyline",
        "bulge-in-unit",
        "duplicate-vertices",
        "zero-area-ring",
        "nan-coordinate",
        "site-in-degrees",
        "swapped-xy-table",
        "wrong-zone-prefix",
        "merged-title-row",
        "header-in-row-3",
        "hidden-sheets",
        "formulas-without-values",
        "date-iso-text",
        "date-slash-text",
        "full-width-digits",
        "thousands-separators",
        "huge-extra-sheet",
        "zip-parent-path",
        "zip-absolute-path",
        "zip-symlink",
        "zip-bomb",
        "zip-encrypted-entry",
        "nested-zip-listed",
        "nested-zip-unlisted",
        "zip-gbk-names",
        "manifest-path-outside",
        "manifest-json-list",
        "report-xlsx-is-csv",
        "all-drawings-missing",
        "empty-zip",
        "empty-directory",
    ):
        assert must in tried, must
