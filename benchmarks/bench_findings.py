"""Time and peak memory of a check that gives one finding per row of a 100 000-row sheet.

The clean sample S is written with its report as CSV, and ``共有部位.csv`` gets ``--rows``
extra rows (100 000 by default), each broken one way:

- ``ref``: its 自然幢号 names no building (RPT-009 on every row);
- ``unreadable``: the same, and its 面积 is text (RPT-003 and RPT-009 on every row);
- ``empty``: the same, and its 面积 is empty (RPT-004, from pandera's failure cases, and
  RPT-009 on every row).

Each case is run by ``precheck`` in a fresh process (as ``bench_check.py`` does); the table
gives whole-command wall time, work time after imports, the process's peak memory (max RSS)
and the findings. Run: ``.venv/bin/python benchmarks/bench_findings.py [--cases ref,empty]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_check import CHECK, run  # noqa: E402

SHEET = "report/共有部位.csv"
UNKNOWN_BUILDING = "371502001001GB00001F9999"  # a ZRZH of the right form that no 自然幢 row has
AREA = {"ref": "12.50", "unreadable": "十二", "empty": ""}  # the 面积 cell of each case


def bad_rows(case: str, rows: int) -> bytes:
    """``rows`` CSV lines for 共有部位 (自然幢号, 所在层, 名称, 面积), CRLF-terminated."""
    area = AREA[case]
    lines = (f"{UNKNOWN_BUILDING},{i % 30 + 1},房间{i},{area}\r\n" for i in range(rows))
    return "".join(lines).encode("utf-8")


def write_case(out: Path, case: str, rows: int) -> Path:
    """The clean S (CSV report) with ``rows`` broken 共有部位 rows; manifest recomputed."""
    from sample_data import build_model
    from sample_data.package import write

    def add_rows(files: dict[str, bytes]) -> None:
        files[SHEET] = files[SHEET] + bad_rows(case, rows)

    return write(
        build_model("S"), out, report_format="csv", as_zip=False,
        dxf_version="R2010", dxf_encoding=None, before_manifest=add_rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="ref,unreadable,empty")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the best is kept")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="duoce-bench-") as tmp:
        print(f"{'case':11} {'rows':>7} {'wall s':>8} {'work s':>8} {'peak MB':>8} {'findings':>9}")
        for case in args.cases.split(","):
            package = write_case(Path(tmp) / case, case, args.rows)
            best = min((run(CHECK, package) for _ in range(args.repeat)), key=lambda f: f["wall"])
            print(
                f"{case:11} {args.rows:7d} {best['wall']:8.2f} {best['work']:8.2f} "
                f"{best['peak_mb']:8.0f} {best['findings']:9d}"
            )


if __name__ == "__main__":
    main()
