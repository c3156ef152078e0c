"""``python -m sample_data --size S --out DIR [--csv] [--zip] [--dxf-version R2000 --gbk | --autocad]
[--defect CODE ...]``.

``--defect PRP-006 --defect CAD-013`` seeds those defects (a rule code, or a code and its
variant such as ``RPT-003/date``) so a firm can try the checker on a known problem;
``--defect ?`` lists every defect that can be seeded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sample_data.generator import SIZES, make_package


def list_defects() -> None:
    """Every seedable defect: its option name, the rule's title and what it breaks."""
    from sample_data.defects import DEFECTS
    from schemas.catalogue import CATALOGUE

    for name in sorted(DEFECTS):
        d = DEFECTS[name]
        rule = CATALOGUE.get(d.code)
        doc = d.doc.splitlines()[0] if d.doc else ""
        print(f"{name:<28} {rule.title if rule else ''}  {doc}".rstrip())


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, write one package and print its path."""
    parser = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--out", type=Path, help="parent directory (required unless --defect ?)")
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
    parser.add_argument(
        "--defect", action="append", default=[], metavar="CODE",
        help="seed this defect (repeatable); '?' lists them all",
    )
    args = parser.parse_args(argv)
    if "?" in args.defect:
        list_defects()
        return 0
    if args.out is None:
        parser.error("--out is required")
    if args.autocad and args.gbk:
        parser.error("--autocad drawings are UTF-8 (R2013); --gbk is for R2000/R2004")
    version = args.dxf_version or ("R2000" if args.gbk else "R2013" if args.autocad else "R2010")
    start = time.perf_counter()
    try:
        if args.defect:
            path = seeded(args, version)
        else:
            path = make_package(
                args.out, args.size, seed=args.seed, report_format="csv" if args.csv else "xlsx",
                as_zip=args.zip, dxf_version=version, dxf_encoding="gbk" if args.gbk else None,
                autocad=args.autocad,
            )
    except ValueError as exc:
        parser.error(str(exc))
    print(f"{path}  ({time.perf_counter() - start:.1f} s)")
    return 0


def seeded(args: argparse.Namespace, version: str) -> Path:
    """The package with the defects asked; only the options given on the command line are
    held against what the defects need."""
    from sample_data.defects import DEFECTS, seeded_packages
    from sample_data.generator import build_model

    unknown = [n for n in args.defect if n not in DEFECTS]
    if unknown:
        raise ValueError(f"no seedable defect {', '.join(unknown)}; --defect ? lists them")
    options: dict = {"report_format": "csv" if args.csv else "xlsx", "autocad": args.autocad}
    if args.zip:
        options["as_zip"] = True
    if args.dxf_version or args.gbk or args.autocad:
        options["dxf_version"] = version
        options["dxf_encoding"] = "gbk" if args.gbk else None
    done = seeded_packages(args.out, args.defect, model=build_model(args.size, seed=args.seed), **options)
    for s in done:
        print(f"seeded {s.defect.name}: expect {s.defect.code} at {s.expect}")
    return done[0].path


if __name__ == "__main__":
    sys.exit(main())
