"""Ingest: an export's reports and images into ``WS/ingest/`` (docs/ingest.md).

Reads the generic export layout (reports as CSV/JSONL/Parquet; DICOM images in any
folder layout, or PNG/JPEG listed in a manifest) and the OpenI / Indiana University
chest X-ray reports (XML or CSV). Images become 8-bit 256x256 grayscale PNGs; bad
input becomes rows of ``rejects.parquet``, never a crash.
"""

from .stage import evaluate_ingest, run_ingest

__all__ = ["run_ingest", "evaluate_ingest"]
