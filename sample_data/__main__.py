"""``python -m sample_data --size S --out DIR [--csv] [--zip] [--dxf-version R2000 --gbk | --autocad]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sample_data.generator import SIZES, make_package


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, write one package and print its path."""
    parser = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--out", type=Path, required=True, help="parent directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", action="store_true", help="report/<sheet>.csv instead of report.xlsx")
    parser.add_argument("--zip", action="store_true", help="write <project_id>.zip")
    parser.add_argument(
        "--dxf-version", default=None,
        help="R2000 … R2018 (default R2010; R2000 with --gbk, R2013 with --autocad)",
    )
    parser.add_argument("--gbk", action="store_true", help="GBK drawings ($DWGCODEPAGE ANSI_936)")
    parser.add_argument(
        "--autocad", action="store_true",
        help="drawings as AutoCAD 2013 writes them: ANSI_936 header, UTF-8 text, CRLF, "
        "THUMBNAILIMAGE and ACDSDATA sections",
    )
    args = parser.parse_args(argv)
    if args.autocad and args.gbk:
        parser.error("--autocad drawings are UTF-8 (R2013); --gbk is for R2000/R2004")
    version = args.dxf_version or ("R2000" if args.gbk else "R2013" if args.autocad else "R2010")
    start = time.perf_counter()
    try:
        path = make_package(
            args.out, args.size, seed=args.seed, report_format="csv" if args.csv else "xlsx",
            as_zip=args.zip, dxf_version=version, dxf_encoding="gbk" if args.gbk else None,
            autocad=args.autocad,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(f"{path}  ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
