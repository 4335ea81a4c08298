"""What a stage's up-to-date check costs in hashing: the content of the data files that
extract.terms names (first time, then from the (path, size, mtime) cache) and the pacsmine
package's own files. Prints the CPU model and load average. Usage::

    PYTHONPATH=src .venv/bin/python bench/fingerprint_speed.py
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

from pacsmine.config import load_config
from pacsmine.nlp.vocabulary.layers import data_files
from pacsmine.workspace import PACKAGE_ROOT, _walk_files, content_fingerprint, source_fingerprint


def cpu() -> str:
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    print(f"cpu: {cpu()}, load average {os.getloadavg()[0]:.2f}")
    files = data_files(load_config()["extract"]["terms"])
    present = [p for p in files if p.exists()]
    n = sum(len(_walk_files(p)) for p in present)
    size = sum(f.stat().st_size for p in present for f in _walk_files(p))
    print(f"extract.terms data: {len(present)} of {len(files)} paths present, {n} files, {size / 1e6:.1f} MB")
    cache = Path(tempfile.mkdtemp()) / "hashes.json"
    for label in ("first hash", "cached"):
        t = time.perf_counter()
        content_fingerprint(files, cache)
        print(f"  {label}: {time.perf_counter() - t:.3f} s")
    t = time.perf_counter()
    source_fingerprint()
    print(f"package files: {len(_walk_files(PACKAGE_ROOT))} files, {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
