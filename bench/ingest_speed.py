"""Speed and memory of `pacsmine ingest`.

Builds synthetic exports of growing size (512 x 512 CT DICOM files written with pydicom,
one report per three images), or takes an existing export (``--export``), and ingests
each in a fresh subprocess. Printed per run: files, reports, wall seconds, images per
second, and the subprocess's peak RSS, so that streaming (memory flat while the archive
grows) can be read off directly.

    .venv/bin/python bench/ingest_speed.py --files 300 1200 --workers 1 2
    .venv/bin/python bench/ingest_speed.py --export demo-export --workers 2
    .venv/bin/python bench/ingest_speed.py --report-rows 200000 --workers 1
    .venv/bin/python bench/ingest_speed.py --report-rows 200000 --big-report-mb 10 --workers 1

``--report-rows N`` ingests a reports-only CSV of N rows (no images); ``--big-report-mb M``
puts one M MB report (one long line without punctuation) in its middle, the row that
used to stop ingest at Arrow's 1 MiB block boundary. The CPU model and load average are
printed first.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_line  # noqa: E402

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from pacsmine.config import load_config
from pacsmine.ingest import run_ingest
from pacsmine.workspace import Workspace

export, ws, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = load_config(overrides=[f"run.workers={workers}"])
t0 = time.perf_counter()
result = run_ingest(Path(export), Workspace(ws), config, force=True)
seconds = time.perf_counter() - t0
rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": seconds, "rss_mb": rss / 1024, "images": result.metrics["images"],
                  "image_files": result.metrics["image_files"], "reports": result.metrics["reports"]}))
"""


def synthetic_export(root: Path, n_files: int, size: int = 512, seed: int = 0) -> Path:
    """``n_files`` CT slices (int16, rescale intercept -1024) in 3-image studies, and their reports."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(seed)
    base = (rng.normal(1064, 200, (size, size))).clip(0, 4000).astype(np.int16)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "reports.csv", "w") as fh:
        fh.write("accession,patient_id,text,modality\n")
        for study in range((n_files + 2) // 3):
            fh.write(f'A{study:07d},P{study // 2:07d},"FINDINGS: nodule, see image 2.",CT\n')
    for i in range(n_files):
        study, instance = divmod(i, 3)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.AccessionNumber, ds.PatientID, ds.Modality = f"A{study:07d}", f"P{study // 2:07d}", "CT"
        ds.SeriesNumber, ds.InstanceNumber = 2, instance + 1
        ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
        ds.set_pixel_data(np.roll(base, i, axis=0), "MONOCHROME2", 16)
        ds.PixelRepresentation = 1
        path = root / "images" / ds.PatientID / ds.AccessionNumber / f"{instance + 1}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
    return root


def reports_export(root: Path, rows: int, big_mb: float = 0.0) -> Path:
    """A reports-only export: ``rows`` CSV reports of about 165 bytes, and with
    ``big_mb`` one report of that many MB (a long word) as the middle row."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "reports.csv", "w") as fh:
        fh.write("accession,patient_id,text,modality\n")
        for i in range(rows):
            if big_mb and i == rows // 2:
                fh.write(f"B{i:07d},P{i:07d},{'x' * int(big_mb * 1e6)},CT\n")
            fh.write(f'A{i:07d},P{i // 3:07d},"FINDINGS: A {i % 40} mm nodule in the right upper lobe, see series 3 '
                     f'image {i % 300}.\nIMPRESSION: Nodule, follow-up CT in 3 months.",CT\n')
    return root


def reader_cpu_seconds(csv_path: Path, repeats: int = 3) -> list[float]:
    """CPU seconds (not wall: the machine may be shared) of the reports reader and the
    report checks alone, with no stage around them, ``repeats`` times."""
    from pacsmine.config import load_config
    from pacsmine.ingest.reports import ReportChecker, iter_reports

    cfg = load_config()["ingest"]
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        checker = ReportChecker()
        for row in iter_reports("csv", csv_path, cfg):
            checker.check(row)
        out.append(time.process_time() - t0)
    return out



def ingest_once(export: Path, ws: Path, workers: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(export), str(ws), str(workers)],
                         capture_output=True, text=True, check=True, env={"PACSMINE_NO_PROGRESS": "1",
                                                                          **__import__("os").environ})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, nargs="+", default=[300, 1200], help="synthetic export sizes (DICOM files)")
    parser.add_argument("--export", type=Path, help="ingest this export instead of synthetic ones")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--report-rows", type=int, default=0, help="a reports-only CSV export of this many rows")
    parser.add_argument("--big-report-mb", type=float, default=0.0, help="with --report-rows: one report this big")
    args = parser.parse_args()
    print('# ' + machine_line(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.export:
            exports = [args.export]
        elif args.report_rows:
            export = reports_export(tmp / f"reports-{args.report_rows}", args.report_rows, args.big_report_mb)
            size = (export / "reports.csv").stat().st_size / 1e6
            print(f"# reports.csv: {args.report_rows} rows, {size:.1f} MB", flush=True)
            try:
                cpu = ", ".join(f"{x:.2f}" for x in reader_cpu_seconds(export / "reports.csv"))
                print(f"# reader + checks alone, CPU seconds of 3 runs: {cpu}", flush=True)
            except Exception as exc:  # the reader of an older version may stop on a big row
                print(f"# reader + checks alone: failed: {type(exc).__name__}: {exc}", flush=True)
            exports = [export]
        else:
            exports = []
            for n in args.files:
                t0 = time.perf_counter()
                exports.append(synthetic_export(tmp / f"export-{n}", n))
                print(f"# built a {n}-file export in {time.perf_counter() - t0:.1f} s", flush=True)
        print(f"{'export':>14} {'workers':>7} {'files':>7} {'reports':>7} {'seconds':>8} {'img/s':>7} {'peak MB':>8}")
        for export in exports:
            for workers in args.workers:
                try:
                    r = ingest_once(export, tmp / f"ws-{export.name}-{workers}", workers)
                except subprocess.CalledProcessError as exc:
                    print(f"{export.name:>14} {workers:>7} failed: {exc.stderr.strip().splitlines()[-1]}", flush=True)
                    continue
                print(f"{export.name:>14} {workers:>7} {r['image_files']:>7} {r['reports']:>7} "
                      f"{r['seconds']:>8.2f} {r['images'] / r['seconds']:>7.1f} {r['rss_mb']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
