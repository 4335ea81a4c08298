"""Linking references to archived images.

A reference (accession, series, instance) is matched to the image of
``ingest/images.parquet`` with the same accession, series and instance (the first
frame of a multi-frame file). A reference that gives no series is matched by
accession and instance where exactly one series of that study has the instance;
where several do it is ``ambiguous``; where none do (or the series given has no
such instance) it is ``unmatched``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["ImageIndex", "LinkedImage", "LINKED", "UNMATCHED", "AMBIGUOUS"]

LINKED, UNMATCHED, AMBIGUOUS = "linked", "unmatched", "ambiguous"


class LinkedImage(NamedTuple):
    """What a linked reference brings from the image table."""

    image_id: str
    patient_id: str | None
    series: int
    instance: int
    png: str | None
    modality: str | None


class ImageIndex:
    """Lookup of archived images by (accession, series, instance) (an estimator:
    ``fit`` learns ``by_key_`` and ``by_instance_`` from an images table)."""

    def fit(self, images: pa.Table) -> "ImageIndex":
        """``images``: the columns image_id, accession, series, instance (and optionally
        frame, patient_id, png, modality) of ``images.parquet``."""
        cols = images.to_pydict()
        n = images.num_rows
        frames = cols.get("frame") or [1] * n
        none = [None] * n
        patients, pngs, modalities = cols.get("patient_id", none), cols.get("png", none), cols.get("modality", none)
        by_key: dict[tuple[str, int, int], LinkedImage] = {}
        by_instance: dict[tuple[str, int], list[int]] = {}
        for i in range(n):
            if frames[i] not in (None, 1):
                continue  # a frame after the first is not what "image N" cites
            acc, series, inst = cols["accession"][i], cols["series"][i], cols["instance"][i]
            if series is None or inst is None:
                continue
            key = (acc, int(series), int(inst))
            if key in by_key:
                continue
            by_key[key] = LinkedImage(cols["image_id"][i], patients[i], int(series), int(inst), pngs[i], modalities[i])
            by_instance.setdefault((acc, int(inst)), []).append(int(series))
        self.by_key_ = by_key
        self.by_instance_ = by_instance
        return self

    @classmethod
    def from_parquet(cls, path: str | Path | None) -> "ImageIndex":
        """Index of ``images.parquet`` (an empty index when ``path`` is None or absent)."""
        if path is None or not Path(path).exists():
            return cls().fit(pa.table({"image_id": [], "accession": [], "series": [], "instance": []}))
        schema = pq.read_schema(path)
        wanted = [c for c in ("image_id", "accession", "series", "instance", "frame", "patient_id", "png", "modality") if c in schema.names]
        return cls().fit(pq.read_table(path, columns=wanted))

    def __len__(self) -> int:
        return len(self.by_key_)

    def link(
        self, accession: str, series: int | None, instance: int, context_series: int | None = None
    ) -> tuple[str, LinkedImage | None]:
        """``(status, image)``: status is linked/unmatched/ambiguous; image is None unless linked.

        ``context_series``: for a reference without series, the series written
        last before it in the same sentence ("series 7 image 61, and ... on image
        108"); it settles an instance that several series have, and nothing else.
        """
        if series is not None:
            image = self.by_key_.get((accession, series, instance))
            return (LINKED, image) if image is not None else (UNMATCHED, None)
        candidates = self.by_instance_.get((accession, instance))
        if not candidates:
            return UNMATCHED, None
        if len(candidates) > 1:
            if context_series in candidates:
                return LINKED, self.by_key_[(accession, context_series, instance)]
            return AMBIGUOUS, None
        return LINKED, self.by_key_[(accession, candidates[0], instance)]

    def summary(self) -> dict[str, Any]:
        return {"images": len(self.by_key_), "studies": len({k[0] for k in self.by_key_})}
