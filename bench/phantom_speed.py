"""Speed of the phantom generator: text-only reports/s and images/s.

    .venv/bin/python bench/phantom_speed.py                 # 20,000 reports text-only, 300 with images
    .venv/bin/python bench/phantom_speed.py --reports 780000 --image-reports 0

Prints one line per measurement. Single process; on a shared machine the figures vary
with the load (the script prints the load average beside them).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")

from pacsmine.config import load_config  # noqa: E402
from pacsmine.phantom import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=20000, help="reports for the text-only run")
    parser.add_argument("--image-reports", type=int, default=300, help="reports for the run with images (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cfg = load_config()["phantom"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = generate(Path(tmp) / "text", args.reports, args.seed, cfg, images=False)
        dt = time.perf_counter() - t0
        size = (Path(tmp) / "text" / "reports.csv").stat().st_size
        print(f"text-only: {args.reports} reports in {dt:.2f} s = {args.reports / dt:,.0f} reports/s "
              f"({summary['counts']['mean_words']} words/report, reports.csv {size / 1e6:.1f} MB; load {load:.1f})")
        if args.image_reports:
            t0 = time.perf_counter()
            summary = generate(Path(tmp) / "img", args.image_reports, args.seed, cfg, images=True)
            dt = time.perf_counter() - t0
            n = summary["counts"]["images"]
            print(f"with images: {args.image_reports} reports, {n} DICOM images in {dt:.2f} s = {n / dt:,.0f} images/s "
                  f"({n / args.image_reports:.2f} images/report; load {load:.1f})")


if __name__ == "__main__":
    main()
