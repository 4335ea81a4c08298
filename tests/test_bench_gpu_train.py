"""bench/gpu_train.py runs end to end on CPU with --tiny and prints its figures line per architecture."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]


def test_tiny_cpu_run_prints_figures():
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_train.py"), "--device", "cpu", "--tiny"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = [line for line in done.stdout.splitlines() if line.startswith("figures:")]
    assert len(figures) == 3
    for line, arch in zip(figures, ("alexnet", "vgg", "efficientnet_lite0")):
        assert f"arch={arch} " in line
        assert "train_images_per_s=" in line and "infer_images_per_s=" in line
        assert "gpu_busy_train=n/a" in line
