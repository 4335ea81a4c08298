"""Two ``pacsmine extract`` runs at once on one workspace, with different configs (issue 8).

Makes a text-only phantom (``--reports``), ingests it, then starts two extract processes on
the same workspace a moment apart, one with ``extract.batch_size=A`` and one with ``B``
(a different config, so a different fingerprint and partial folder). Prints each run's exit
status and last stderr line, then what the workspace holds: the manifest's batch size and
sentence count against the rows of sentences.parquet, and the sentence count of a clean
run with the winner's config. Usage::

    PYTHONPATH=src .venv/bin/python bench/two_runs.py --reports 300
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

SRC = str(Path(__file__).resolve().parents[1] / "src")


def pacsmine(*args: str, **popen) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=SRC, PACSMINE_NO_PROGRESS="1")
    return subprocess.Popen([sys.executable, "-c", "from pacsmine.cli import app; app()", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, **popen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--batch-sizes", type=int, nargs=2, default=(10, 7))
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between the two starts")
    opts = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pacsmine-two-runs-"))
    for args in (["phantom", str(root / "export"), "--reports", str(opts.reports), "--no-images"],
                 ["ingest", str(root / "export"), "-w", str(root / "ws")]):
        done = pacsmine(*args)
        _, err = done.communicate()
        assert done.returncode == 0, err
    a, b = opts.batch_sizes
    common = ["extract", "-w", str(root / "ws"), "--set", "run.workers=2"]
    first = pacsmine(*common, "--set", f"extract.batch_size={a}")
    time.sleep(opts.delay)
    second = pacsmine(*common, "--set", f"extract.batch_size={b}")
    for label, proc, size in (("first", first, a), ("second", second, b)):
        _, err = proc.communicate()
        lines = [line for line in err.splitlines() if line.strip()]
        said = [line for line in lines if " sentences, " in line]
        print(f"{label} run (batch_size={size}): exit {proc.returncode}: {(lines or [''])[-1]}")
        if said:
            print(f"    it said: {said[-1]}")
    extract = root / "ws" / "extract"
    manifest = (extract / "manifest.json")
    if manifest.exists():
        import json

        m = json.loads(manifest.read_text())
        rows = pq.ParquetFile(extract / "sentences.parquet").metadata.num_rows
        print(f"workspace: manifest batch_size={m['config']['batch_size']}, counts.sentences="
              f"{m['counts']['sentences']}, sentences.parquet rows={rows}")
        clean = root / "clean"
        done = pacsmine("ingest", str(root / "export"), "-w", str(clean))
        done.communicate()
        done = pacsmine("extract", "-w", str(clean), "--set", "run.workers=2",
                        "--set", f"extract.batch_size={m['config']['batch_size']}")
        done.communicate()
        clean_rows = pq.ParquetFile(clean / "extract" / "sentences.parquet").metadata.num_rows
        print(f"a clean run with that config: sentences.parquet rows={clean_rows}")
    else:
        print("workspace: no extract manifest")
    print(f"(workspace kept in {root})")


if __name__ == "__main__":
    main()
