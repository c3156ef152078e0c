"""The service on loopback (``duoce serve`` = ``serve_all``): upload → verdict beside
``duoce check`` of the same package, and N firms uploading at once.

Starts ``serve_all`` on a throw-away store and free loopback ports (its own Prefect server
and served deployments), makes N firms with API tokens, then prints:

- per size (``--sizes``, default S; L too — the generator has no M), interleaved ``--repeat``
  times (median): ``duoce check PKG --json F`` wall and CPU (a fresh
  process, as a firm runs it), and upload → verdict through the service (``POST
  /api/packages`` with the zip as the body, then ``GET /api/packages/{id}`` every 0.1 s
  until ``done``): wall, and the target (check wall + 1 s) beside it;
- N firms uploading at once (``--concurrent``, default 20), each a different package:
  half clean samples of other seeds, half seeded with one defect each (``sample_data.
  defects``, so that verdicts differ), each firm asking for its state every ``--poll``
  seconds (default 1): wall until every verdict is in, each verdict
  against ``duoce check``'s of that package;
- CPU used meanwhile by the web process (uvicorn) and by the worker side (the warm
  pre-check worker and its pool, the served deployments and the flow runs they start, the
  Prefect server), from /proc; peak memory: the web process's VmHWM, each worker-side
  process's VmHWM, and the peak of the worker side's summed RSS (sampled every 0.1 s).

Run: ``uv run python benchmarks/bench_service.py [--sizes S,L] [--concurrent 20]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICK = os.sysconf("SC_CLK_TCK")


def _zip(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, Path(folder.name) / f.relative_to(folder))
    return out


def _cpu(pid: int) -> float:
    """CPU seconds of a process and of its waited-for children (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / TICK


def _tree(pid: int) -> set[int]:
    parents = {}
    for e in Path("/proc").iterdir():
        if e.name.isdigit():
            try:
                parents[int(e.name)] = int((e / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, q in parents.items() if q in frontier} - found
        found |= frontier
    return found


def _status_kb(pid: int, key: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (VmHWM, VmRSS), 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _name(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in cmd if w]
    for marker in ("-m", "-c"):
        if marker in words[:-1]:
            return " ".join(words[words.index(marker) : words.index(marker) + 2])[:60]
    return " ".join(words)[:60]


class MemorySampler(threading.Thread):
    """Peak RSS of the web process and of the sum of its descendants (every 0.1 s), and
    the last VmHWM seen of each descendant (a process that ends keeps its last reading)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.web_peak = 0
        self.side_peak = 0
        self.hwm: dict[int, tuple[str, int]] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            time.sleep(0.1)

    def sample(self) -> None:
        self.web_peak = max(self.web_peak, _status_kb(self.pid, "VmRSS"))
        side = 0
        for p in _tree(self.pid):
            side += _status_kb(p, "VmRSS")
            hwm = _status_kb(p, "VmHWM")
            if hwm:
                self.hwm[p] = (self.hwm.get(p, ("", 0))[0] or _name(p), hwm)
        self.side_peak = max(self.side_peak, side)

    def stop(self) -> None:
        self._done.set()
        self.join()


def duoce_check(package: Path, out: Path) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/duoce"), "check", str(package), "--json", str(out)],
        capture_output=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(out.read_text(encoding="utf-8"))["verdict"]


def upload_to_verdict(base: str, token: str, package: Path, poll: float = 0.1) -> tuple[float, str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/zip"}
    with httpx.Client(base_url=base, timeout=120, trust_env=False) as client:
        t0 = time.perf_counter()
        sent = client.post(
            "/api/packages", params={"filename": package.name}, headers=headers,
            content=package.read_bytes(),
        )  # fmt: skip
        sent.raise_for_status()
        upload_id = sent.json()["id"]
        while True:
            state = client.get(f"/api/packages/{upload_id}", headers=headers).json()
            if state["state"] in ("done", "failed"):
                return time.perf_counter() - t0, state["verdict"] or state["state"]
            time.sleep(poll)


def concurrent_packages(work: Path, n: int) -> list[Path]:
    """``n`` different S packages as zips: even ones clean with seed 100 + i, odd ones the
    S sample with one seeded defect each (spread over the defects' names)."""
    from sample_data import make_package
    from sample_data.defects import DEFECTS, seeded_package

    names = sorted(n for n, d in DEFECTS.items() if d.stage in ("model", "files", "final"))
    picks = [names[(k * 7) % len(names)] for k in range(n // 2 + 1)]
    out = []
    for i in range(n):
        here = work / f"firm{i}"
        if i % 2 == 0:
            path = make_package(here, "S", seed=100 + i)
        else:
            path = seeded_package(here, picks[i // 2], "S").path
        out.append(path if path.suffix == ".zip" else _zip(path, work / f"firm{i}.zip"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="S")  # S or L (the generator has no M)
    ap.add_argument("--repeat", type=int, default=3)
    # each of the N firms asks for its state every --poll seconds (a page refreshes every 2 s;
    # 20 clients at 0.1 s would be 200 requests a second, the web process's own load)
    ap.add_argument("--poll", type=float, default=1.0)
    ap.add_argument("--concurrent", "--firms", dest="firms", type=int, default=20)
    args = ap.parse_args()

    from typer.testing import CliRunner

    from interfaces.web.admin_cli import admin_app
    from interfaces.web.serve import free_port
    from sample_data import make_package

    work = Path(tempfile.mkdtemp(prefix="bench-service-"))
    store = work / "store"
    runner = CliRunner()
    tokens = []
    for i in range(args.firms):
        org = f"测绘单位{i}"
        runner.invoke(admin_app, ["org", "add", org, "--kind", "firm", "--store", str(store)])
        runner.invoke(admin_app, ["user", "add", f"firm{i}", "--org", org, "--password-stdin",
                                  "--store", str(store)], input="bench-password-1\n")  # fmt: skip
        done = runner.invoke(admin_app, ["token", "add", f"firm{i}", "--store", str(store)])
        tokens.append(done.output.strip().splitlines()[-1])

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DUOCE_"))}
    env |= {"DUOCE_WEB_SECRET": "bench", "NO_PROXY": "*", "PREFECT_HOME": str(work / "ph")}
    code = f"from interfaces.web.serve import serve_all; serve_all('127.0.0.1', {port}, {str(store)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(base + "/login", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
            if proc.poll() is not None or time.perf_counter() - t0 > 300:
                raise SystemExit("service did not start")
        print(f"serve_all ready in {time.perf_counter() - t0:.1f} s (login page reached)")
        children = _tree(proc.pid)
        web0, side0 = _cpu(proc.pid), sum(_cpu(p) for p in children)

        print(
            f"{'size':<5} {'check wall':>10} {'check CPU':>9} {'service wall':>12} {'target':>7}  verdicts"
        )
        for size in args.sizes.split(","):
            folder = make_package(work / f"pkg-{size}", size)
            package = _zip(folder, work / f"{size}.zip")
            upload_to_verdict(base, tokens[0], package)  # warm: first flow run's imports
            checks, served = [], []
            for _ in range(args.repeat):  # interleaved, so that both see the same load
                checks.append(duoce_check(package, work / f"{size}.json"))
                served.append(upload_to_verdict(base, tokens[0], package))
            cw, cc = (
                statistics.median(c[0] for c in checks),
                statistics.median(c[1] for c in checks),
            )
            sw = statistics.median(w for w, _ in served)
            verdicts = {c[2] for c in checks} | {v for _, v in served}
            print(
                f"{size:<5} {cw:>9.2f}s {cc:>8.2f}s {sw:>11.2f}s {cw + 1:>6.2f}s  "
                f"{'/'.join(sorted(verdicts))} (median of {args.repeat}; best check "
                f"{min(c[0] for c in checks):.2f} s, best service {min(w for w, _ in served):.2f} s)"
            )

        packages = concurrent_packages(work, args.firms)
        expected = [duoce_check(p, p.with_suffix(".json"))[2] for p in packages]
        memory = MemorySampler(proc.pid)
        memory.sample()
        before_kb = memory.side_peak
        memory.side_peak = 0
        memory.start()
        t0 = time.perf_counter()
        with cf.ThreadPoolExecutor(args.firms) as pool:
            got = list(
                pool.map(
                    lambda tp: upload_to_verdict(base, *tp, poll=args.poll),
                    zip(tokens, packages, strict=True),
                )
            )
        wall = time.perf_counter() - t0
        memory.stop()
        right = sum(v == e for (_, v), e in zip(got, expected, strict=True))
        kinds = sorted({e for e in expected})
        print(
            f"{args.firms} firms at once (S: clean seeds and seeded defects; verdicts {kinds}): "
            f"all verdicts in {wall:.2f} s wall; fastest {min(w for w, _ in got):.2f} s, "
            f"slowest {max(w for w, _ in got):.2f} s; right verdicts {right}/{args.firms}"
        )
        for (_, v), e, p in zip(got, expected, packages, strict=True):
            if v != e:
                print(f"  WRONG {p.name}: service {v}, duoce check {e}")
        web1 = _cpu(proc.pid)
        side1 = sum(_cpu(p) for p in _tree(proc.pid))
        print(f"CPU web process (uvicorn): {web1 - web0:.2f} s; worker side (pre-check worker and "
              f"pool, served deployments, flow runs, Prefect server, live processes only): "
              f"{side1 - side0:.2f} s")  # fmt: skip
        print(f"peak memory: web process VmHWM {_status_kb(proc.pid, 'VmHWM') / 1024:.0f} MB "
              f"(RSS peak during the burst {memory.web_peak / 1024:.0f} MB); worker side summed "
              f"RSS peak {memory.side_peak / 1024:.0f} MB (before the burst "
              f"{before_kb / 1024:.0f} MB)")  # fmt: skip
        for pid, (name, hwm) in sorted(memory.hwm.items(), key=lambda kv: -kv[1][1]):
            print(f"  VmHWM {hwm / 1024:6.0f} MB  pid {pid:<7} {name}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
