"""A tiny labelled workspace for tests: the ingest and topics artefacts the images stage reads.

``write_labelled_workspace(ws, ...)`` writes, through ``Workspace.run_stage`` (so both stages
have manifests and fingerprints):

- ingest/images.parquet (``image_id``, ``accession``, ``patient_id``, ``png``, ``source``),
  ingest/reports.parquet (``accession``, ``patient_id`` null: the images carry it) and
  32x32 grey PNGs whose bright quadrant is the image's level-1 topic (learnable from pixels);
- topics/key_image_labels.parquet and topics/level{1,2,3}/topics.parquet (``topic``,
  ``top_words``, ``flagged``).

Extra rows make one reject of each kind: an image with no ingest row, one whose PNG is
absent, one whose PNG is not a PNG.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["write_labelled_workspace", "QUADRANTS"]

# Level-1 topic -> the bright quadrant (row, column) of its images.
QUADRANTS = {"0": (0, 0), "1": (0, 1), "2": (1, 0), "3": (1, 1)}


def _image(topic: str, rng: np.random.Generator, size: int) -> np.ndarray:
    img = rng.integers(0, 60, (size, size)).astype(np.uint8)
    r, c = QUADRANTS[topic]
    h = size // 2
    img[r * h:(r + 1) * h, c * h:(c + 1) * h] += 150
    return img


def write_labelled_workspace(ws, n_patients: int = 60, images_per_patient: int = 2, n_topics: int = 3,
                             size: int = 32, seed: int = 0, flagged: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write the two stages; returns ``{"labels": [rows of key_image_labels], "patients": {image_id: patient}}``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    rows, ingest = [], []
    topics = [str(t) for t in range(n_topics)]
    for p in range(n_patients):
        patient = f"P{p:04d}"
        accession = f"A{p:04d}"
        topic = topics[p % n_topics]
        for i in range(images_per_patient):
            image_id = f"{accession}/1/{i + 1}"
            png = f"ingest/images/{accession}/1_{i + 1}.png"
            rows.append({"image_id": image_id, "accession": accession, "level1": topic,
                         "level2": f"{topic}.{i % 2}", "level3": str((p + i) % 2)})
            ingest.append({"image_id": image_id, "accession": accession, "patient_id": patient, "png": png,
                           "source": f"images/{patient}/{accession}/1/{i + 1}.dcm",
                           "pixels": _image(topic, rng, size)})
    # One reject of each kind.
    rows.append({"image_id": "X0001/1/1", "accession": "X0001", "level1": "0", "level2": "0.0", "level3": "0"})
    for kind in ("missing", "broken"):
        image_id = f"{kind}/1/1"
        rows.append({"image_id": image_id, "accession": kind, "level1": "0", "level2": "0.0", "level3": "0"})
        ingest.append({"image_id": image_id, "accession": kind, "patient_id": f"P-{kind}",
                       "png": f"ingest/images/{kind}/1_1.png", "source": f"images/{kind}.dcm", "pixels": kind})

    def ingest_body(ctx):
        for row in ingest:
            path = ws.root / row["png"]
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(row["pixels"], np.ndarray):
                Image.fromarray(row["pixels"], mode="L").save(path)
            elif row["pixels"] == "broken":
                path.write_bytes(b"not a png")
        ctx.write_parquet("images.parquet", pa.table({k: pa.array([r[k] for r in ingest], pa.string())
                                                      for k in ("image_id", "accession", "patient_id", "png", "source")}))
        accessions = sorted({r["accession"] for r in ingest})
        ctx.write_parquet("reports.parquet", pa.table({"accession": pa.array(accessions, pa.string()),
                                                       "patient_id": pa.array([None] * len(accessions), pa.string())}))
        ctx.path("images")
        return {}

    def topics_body(ctx):
        ctx.write_parquet("key_image_labels.parquet", pa.table({k: pa.array([r[k] for r in rows], pa.string())
                                                                for k in ("image_id", "accession", "level1", "level2",
                                                                          "level3")}))
        for level in ("level1", "level2", "level3"):
            ids = sorted({r[level] for r in rows})
            ctx.write_parquet(f"{level}/topics.parquet", pa.table({
                "topic": pa.array(ids, pa.string()),
                "top_words": pa.array([[f"w{t}a", f"w{t}b", f"w{t}c"] for t in ids], pa.list_(pa.string())),
                "flagged": pa.array([level == "level1" and t in flagged for t in ids], pa.bool_()),
            }))
        return {}

    ws.run_stage("ingest", {"synthetic": {"n": n_patients, "seed": seed}}, {}, ingest_body,
                 extra_manifest={"export": None})
    ws.run_stage("topics", {"synthetic": {"n": n_patients, "seed": seed, "flagged": list(flagged)}},
                 {"ingest": ws.fingerprint("ingest")}, topics_body)
    return {"labels": rows, "patients": {r["image_id"]: r["patient_id"] for r in ingest}}
