"""A tiny workspace for the retrieval tests: what the retrieval stage reads, made by hand.

On top of :func:`pacsmine.images.synthetic.write_labelled_workspace` (ingest and topics: grey
PNGs whose bright quadrant is the image's level-1 topic), each through ``Workspace.run_stage``:

- extract/key_images.parquet: every labelled image cited by sentence 0 of its report;
- extract/terms.parquet: that sentence names the topic's two diseases ``d<t>a``, ``d<t>b``
  (codes ``D<t>A``, ``D<t>B``) and one negated disease of the next topic (``D<t+1>A``);
- vectors/: ``dim``-d word vectors (seeded normal) of the six disease tokens and two plain
  words, vocabulary.parquet and terms.parquet as the vectors stage writes them;
- images/dataset/split.parquet: the patients' images in train / validation / test by patient
  number (every 5th patient test, every 10th validation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["write_retrieval_workspace"]


def write_retrieval_workspace(ws, n_patients: int = 30, dim: int = 8, seed: int = 0) -> dict[str, Any]:
    """Write the stages; returns ``{"labels": rows, "words": [...], "matrix": (V, dim) float32}``."""
    from ..images.synthetic import write_labelled_workspace
    from ..vectors.keyed import save_matrix

    made = write_labelled_workspace(ws, n_patients=n_patients, images_per_patient=2, n_topics=3, seed=seed)
    labels = [r for r in made["labels"] if r["image_id"] in made["patients"] and r["accession"].startswith("A")]
    topics = sorted({r["level1"] for r in labels})
    words = [f"d{t}{x}" for t in topics for x in "ab"] + ["lesion", "series"]
    codes = {f"d{t}{x}": f"D{t}{x.upper()}" for t in topics for x in "ab"}
    matrix = np.random.default_rng(seed).normal(size=(len(words), dim)).astype(np.float32)

    def extract_body(ctx):
        keys = [{"image_id": r["image_id"], "accession": r["accession"], "sentence_index": 0} for r in labels]
        ctx.write_parquet("key_images.parquet", pa.table({
            "image_id": pa.array([k["image_id"] for k in keys], pa.string()),
            "accession": pa.array([k["accession"] for k in keys], pa.string()),
            "sentence_index": pa.array([0] * len(keys), pa.int32())}))
        terms = []
        for accession, topic in sorted({(r["accession"], r["level1"]) for r in labels}):
            nxt = topics[(topics.index(topic) + 1) % len(topics)]
            for start, word, negated in ((0, f"d{topic}a", False), (10, f"d{topic}b", False),
                                         (20, f"d{nxt}a", True)):
                terms.append({"accession": accession, "sentence_index": 0, "start": start, "end": start + 3,
                              "code": codes[word], "negated": negated, "uncertain": False})
        ctx.write_parquet("terms.parquet", pa.table({
            "accession": pa.array([t["accession"] for t in terms], pa.string()),
            "sentence_index": pa.array([t["sentence_index"] for t in terms], pa.int32()),
            "start": pa.array([t["start"] for t in terms], pa.int32()),
            "end": pa.array([t["end"] for t in terms], pa.int32()),
            "code": pa.array([t["code"] for t in terms], pa.string()),
            "negated": pa.array([t["negated"] for t in terms], pa.bool_()),
            "uncertain": pa.array([t["uncertain"] for t in terms], pa.bool_())}))
        return {}

    def vectors_body(ctx):
        save_matrix(ctx.path("vectors.safetensors"), matrix)
        ctx.write_parquet("vocabulary.parquet", pa.table({
            "word": pa.array(words, pa.string()), "index": pa.array(range(len(words)), pa.int32()),
            "is_term": pa.array([w in codes for w in words], pa.bool_()),
            "code": pa.array([codes.get(w) for w in words], pa.string())}))
        ctx.write_parquet("terms.parquet", pa.table({
            "code": pa.array(list(codes.values()), pa.string()), "token": pa.array(list(codes), pa.string()),
            "index": pa.array([words.index(w) for w in codes], pa.int32())}))
        return {}

    def images_body(ctx):
        patient = {r["image_id"]: made["patients"][r["image_id"]] for r in labels}
        number = {i: int(p[1:]) for i, p in patient.items()}
        part = {i: "test" if n % 5 == 0 else "validation" if n % 10 == 1 else "train" for i, n in number.items()}
        ctx.write_parquet("dataset/split.parquet", pa.table({
            "image_id": pa.array([r["image_id"] for r in labels], pa.string()),
            "patient_id": pa.array([patient[r["image_id"]] for r in labels], pa.string()),
            "split": pa.array([part[r["image_id"]] for r in labels], pa.string()),
            **{lv: pa.array([r[lv] for r in labels], pa.string()) for lv in ("level1", "level2", "level3")}}))
        return {}

    ws.run_stage("extract", {"synthetic": seed}, {"ingest": ws.fingerprint("ingest")}, extract_body)
    ws.run_stage("vectors", {"synthetic": seed}, {"extract": ws.fingerprint("extract")}, vectors_body)
    ws.run_stage("images", {"synthetic": seed}, {"topics": ws.fingerprint("topics")}, images_body)
    return {"labels": labels, "words": words, "matrix": matrix, "codes": codes}
