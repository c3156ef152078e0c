"""Read times of the DXF reader: ezdxf recover mode vs the GDAL fast path.

Run: ``.venv/bin/python benchmarks/bench_dxf.py [--units 7500] [--repeat 3]``

Generates a floor-plan-like drawing of ``4 × units`` modelspace entities (a closed unit
outline, an MTEXT 户号 with inline formatting, a TEXT, a CIRCLE per unit; one unit in ten
has an arc side) in R2010, in R2000/GBK and as AutoCAD 2013 writes it (AC1027, ANSI_936
header over UTF-8 text, CRLF, THUMBNAILIMAGE and ACDSDATA: ``sample_data/autocad.py``), and
prints the best of ``repeat`` CPU times.

``--mtext`` prints instead what one hostile MTEXT costs the plain-text conversion
(:func:`parsers.mtext.plain_mtext`): an MTEXT of 80 000 formatting groups (1.2 MB) and of
8 MB (issue 14), CPU and wall, beside ezdxf's ``fast_plain_mtext`` on smaller ones (it
copies the rest of the content at every command: its time grows with the square of the
size; 1.2 MB took it ~70 s).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import ezdxf

from parsers.dxf import read_dxf
from parsers.dxf_fast import read_dxf_fast
from sample_data.autocad import autocad_text


def generate(path: Path, units: int, version: str, encoding: str | None, autocad: bool = False) -> int:
    """Write the benchmark drawing (``autocad``: as AutoCAD 2013 does, ``encoding`` then
    only names the header's code page); return its modelspace entity count."""
    doc = ezdxf.new(version)
    if encoding:
        doc.encoding = encoding
    msp = doc.modelspace()
    side = max(1, int(units**0.5))
    for i in range(units):
        x, y = 409000.0 + (i % side) * 12.0, 4034000.0 + (i // side) * 12.0
        bulge = 0.4 if i % 10 == 0 else 0.0
        outline = [(x, y, 0), (x + 10, y, 0), (x + 10, y + 8, bulge), (x, y + 8, 0)]
        msp.add_lwpolyline(outline, format="xyb", close=True, dxfattribs={"layer": "FC_H"})
        msp.add_mtext(
            r"{\fSimSun|b0|i0|c134|p2;" + f"{i % 9999 + 1:04d}}}",
            dxfattribs={"layer": "FC_H", "insert": (x + 5, y + 4)},
        )
        msp.add_text(
            "阳台封闭" if i % 2 else "楼梯间",
            dxfattribs={"layer": "FC_GY", "insert": (x + 1, y + 1)},
        )
        msp.add_circle((x, y), 0.2, dxfattribs={"layer": "JZD"})
    if autocad:
        stream = io.StringIO()
        doc.write(stream)
        layout = doc.layouts.get("Model").dxf_layout.dxf.handle
        path.write_bytes(autocad_text(stream.getvalue(), layout).encode("utf-8"))
    else:
        doc.saveas(path)
    return len(msp)


def best(fn, repeat: int) -> float:
    """Best CPU time of ``repeat`` runs (CPU time: other processes on a busy machine do not
    count; GDAL runs in this thread, so its work does)."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


_GROUP = r"{\fArial;\C1;x}"  # 15 characters: one styled character, as CAD writes it


def _timed(fn) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def mtext_figures() -> None:
    """CPU and wall of one huge MTEXT's plain text: ours at 1.2 and 8 MB, ezdxf's on smaller."""
    from ezdxf.tools.text import fast_plain_mtext

    from parsers.mtext import plain_mtext

    for groups in (80_000, 533_334):
        text = _GROUP * groups
        cpu, wall = _timed(lambda t=text: plain_mtext(t))
        print(f"parsers.mtext     {groups:7d} groups {len(text) / 1e6:5.1f} MB  CPU {cpu:7.3f} s  wall {wall:7.3f} s")
    for groups in (5_000, 10_000, 20_000):
        text = _GROUP * groups
        cpu, wall = _timed(lambda t=text: fast_plain_mtext(t))
        print(f"ezdxf fast_plain  {groups:7d} groups {len(text) / 1e6:5.2f} MB  CPU {cpu:7.3f} s  wall {wall:7.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=7500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mtext", action="store_true", help="one huge MTEXT's plain text, 1.2 and 8 MB")
    args = parser.parse_args()
    if args.mtext:
        mtext_figures()
        return
    with tempfile.TemporaryDirectory() as tmp:
        for version, encoding, autocad in (("R2010", None, False), ("R2000", "gbk", False), ("R2013", "gbk", True)):
            name = f"{version}-acad" if autocad else version
            path = Path(tmp) / f"bench_{name}.dxf"
            count = generate(path, args.units, version, encoding, autocad)
            size = path.stat().st_size / 1e6
            label = "utf-8" if autocad or not encoding else encoding
            slow = best(lambda p=path: read_dxf(p, "bench.dxf"), args.repeat)
            if read_dxf_fast(path, "bench.dxf") is None:  # warm-up, and check it is taken
                print(f"{name:11} {label:6} {count:6d} entities {size:5.1f} MB  ezdxf {slow:6.3f} s   fast path REFUSED  (CPU)")
                continue
            fast = best(lambda p=path: read_dxf_fast(p, "bench.dxf"), args.repeat)
            print(
                f"{name:11} {label:6} {count:6d} entities {size:5.1f} MB  "
                f"ezdxf {slow:6.3f} s   fast {fast:6.3f} s   ×{slow / fast:4.1f}  (CPU)"
            )


if __name__ == "__main__":
    main()
