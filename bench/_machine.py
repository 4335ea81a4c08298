"""The machine line every bench script prints: CPU model, cores and load average.

``machine_line()`` -> ``"machine: <CPU model>, <n> cores, load average <1-min> (<5-min>, <15-min>)"``;
call it at the start and at the end of a run (a figure is read with the load it ran under).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo ("model name", or "Hardware"/"Processor" on ARM);
    ``platform.processor()`` where there is no /proc (or "unknown")."""
    try:
        for line in Path("/proc/cpuinfo").read_text("utf-8", "replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    """``"<1-min> (<5-min>, <15-min>)"``, or "n/a" where the OS has none."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} ({five:.2f}, {fifteen:.2f})"


def machine_line(when: str = "") -> str:
    """One line: CPU model, logical cores, load average (1, 5, 15 min), tagged ``when``."""
    tag = f" at {when}" if when else ""
    return f"machine{tag}: {cpu_model()}, {os.cpu_count()} cores, load average {load_average()}"
