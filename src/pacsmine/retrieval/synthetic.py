"""A tiny workspace for the retrieval tests: what the retrieval stage reads, made by hand.

On top of :func:`pacsmine.images.synthetic.write_labelled_workspace` (ingest and topics: grey
PNGs whose bright quadrant is the image's level-1 topic), each through ``Workspace.run_stage``:

- extract/key_images.parquet: every labelled image cited by sentence 0 of its report;
- extract/terms.parquet: that sentence, "d<t>a and d<t>b, no d<t+1>a", names the topic's two
  diseases ``d<t>a``, ``d<t>b`` (codes ``D<t>A``, ``D<t>B``) and one negated disease of the
  next topic (``D<t+1>A``);
- vectors/: ``dim``-d word vectors (seeded normal) of the six disease tokens and two plain
  words, vocabulary.parquet and terms.parquet as the vectors stage writes them;
- topics/ again, with top words that hold the disease tokens: a level-1 topic ``t``
  ``[d<t>a, lesion, d<t>b]``, a level-2 topic ``t.i`` ``[d<t>b, d<t>a]``, a level-3 topic
  ``[d0a, d1b, d2a, series]``;
- images/dataset/split.parquet: the patients' images in train / validation / test by patient
  number (every 5th patient test, every 10th validation); with ``classifier``, also a
  level-1 AlexNet-style classifier (width 0.125, one epoch, 32 px) in
  images/models/alexnet/level1/ and images/evaluation/predictions.parquet predicting each
  validation and test image's own topics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["write_retrieval_workspace"]


def write_retrieval_workspace(ws, n_patients: int = 30, dim: int = 8, seed: int = 0,
                              classifier: bool = False) -> dict[str, Any]:
    """Write the stages; returns ``{"labels": rows, "words": [...], "matrix": (V, dim) float32}``."""
    from ..images.synthetic import write_labelled_workspace
    from ..vectors.keyed import save_matrix

    made = write_labelled_workspace(ws, n_patients=n_patients, images_per_patient=2, n_topics=3, seed=seed)
    labels = [r for r in made["labels"] if r["image_id"] in made["patients"] and r["accession"].startswith("A")]
    topics = sorted({r["level1"] for r in labels})
    words = [f"d{t}{x}" for t in topics for x in "ab"] + ["lesion", "series"]
    codes = {f"d{t}{x}": f"D{t}{x.upper()}" for t in topics for x in "ab"}
    matrix = np.random.default_rng(seed).normal(size=(len(words), dim)).astype(np.float32)

    def sentence(topic: str) -> str:
        nxt = topics[(topics.index(topic) + 1) % len(topics)]
        return f"d{topic}a and d{topic}b, no d{nxt}a"

    def extract_body(ctx):
        ctx.write_parquet("key_images.parquet", pa.table({
            "image_id": pa.array([r["image_id"] for r in labels], pa.string()),
            "accession": pa.array([r["accession"] for r in labels], pa.string()),
            "sentence_index": pa.array([0] * len(labels), pa.int32()),
            "sentence": pa.array([sentence(r["level1"]) for r in labels], pa.string())}))
        terms = []
        for accession, topic in sorted({(r["accession"], r["level1"]) for r in labels}):
            nxt = topics[(topics.index(topic) + 1) % len(topics)]
            # "d<t>a and d<t>b, no d<t+1>a": the three terms at 0, 8 and 16
            for start, word, negated in ((0, f"d{topic}a", False), (8, f"d{topic}b", False),
                                         (16, f"d{nxt}a", True)):
                terms.append({"accession": accession, "sentence_index": 0, "start": start, "end": start + 3,
                              "code": codes[word], "name": word, "status": "absent" if negated else "present",
                              "negated": negated, "uncertain": False})
        ctx.write_parquet("terms.parquet", pa.table({
            "accession": pa.array([t["accession"] for t in terms], pa.string()),
            "sentence_index": pa.array([t["sentence_index"] for t in terms], pa.int32()),
            "start": pa.array([t["start"] for t in terms], pa.int32()),
            "end": pa.array([t["end"] for t in terms], pa.int32()),
            "code": pa.array([t["code"] for t in terms], pa.string()),
            "name": pa.array([t["name"] for t in terms], pa.string()),
            "status": pa.array([t["status"] for t in terms], pa.string()),
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

    def topics_body(ctx):
        ctx.write_parquet("key_image_labels.parquet", pa.table({
            k: pa.array([r[k] for r in made["labels"]], pa.string())
            for k in ("image_id", "accession", "level1", "level2", "level3")}))
        for level in ("level1", "level2", "level3"):
            ids = sorted({r[level] for r in made["labels"]})
            if level == "level1":
                words = {t: [f"d{t}a", "lesion", f"d{t}b"] for t in ids}
            elif level == "level2":
                words = {t: [f"d{t.split('.')[0]}b", f"d{t.split('.')[0]}a"] for t in ids}
            else:
                words = {t: ["d0a", "d1b", "d2a", "series"] for t in ids}
            ctx.write_parquet(f"{level}/topics.parquet", pa.table({
                "topic": pa.array(ids, pa.string()),
                "top_words": pa.array([words[t] for t in ids], pa.list_(pa.string())),
                "flagged": pa.array([False] * len(ids), pa.bool_())}))
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
        if classifier:
            _classifier(ctx, ws, labels, part)
        return {}

    ws.run_stage("topics", {"synthetic-retrieval": seed}, {"ingest": ws.fingerprint("ingest")}, topics_body)
    ws.run_stage("extract", {"synthetic": seed}, {"ingest": ws.fingerprint("ingest")}, extract_body)
    ws.run_stage("vectors", {"synthetic": seed}, {"extract": ws.fingerprint("extract")}, vectors_body)
    ws.run_stage("images", {"synthetic": seed, "classifier": classifier}, {"topics": ws.fingerprint("topics")}, images_body)
    return {"labels": labels, "words": words, "matrix": matrix, "codes": codes}


def _classifier(ctx, ws, labels, part) -> None:
    """A one-epoch level-1 classifier and predictions that name each image's own topics."""
    from ..images.cache import decode_png
    from ..images.classifier import TopicClassifier

    topics = sorted({r["level1"] for r in labels})
    train = [r for r in labels if part[r["image_id"]] == "train"]
    png = {r["image_id"]: ws.root / f"ingest/images/{r['accession']}/1_{r['image_id'].split('/')[-1]}.png"
           for r in labels}
    images = np.stack([decode_png(png[r["image_id"]], 32)[None] for r in train])
    y = np.array([topics.index(r["level1"]) for r in train])
    model = TopicClassifier("alexnet", topics, level="level1", in_channels=1, pretrained=False, resize=32, crop=32,
                            flip=False, epochs=1, batch_size=8, optimizer="sgd", lr=0.01, momentum=0.9,
                            weight_decay=5e-4, head_lr_multiplier=10.0, seed=0, device="cpu",
                            network={"width": 0.125, "dropout": 0.5}, bn_momentum=0.1)
    model.fit(images, y, images[:4], y[:4])
    model.save(ctx.path("models/alexnet/level1/model.json").parent)
    ctx.path("models/alexnet/level1/model.safetensors")
    rows = [(r, lv) for r in labels if part[r["image_id"]] != "train" for lv in ("level1", "level2", "level3")]
    ctx.write_parquet("evaluation/predictions.parquet", pa.table({
        "image_id": pa.array([r["image_id"] for r, _ in rows], pa.string()),
        "arch": pa.array(["alexnet"] * len(rows), pa.string()),
        "level": pa.array([lv for _, lv in rows], pa.string()),
        "split": pa.array([part[r["image_id"]] for r, _ in rows], pa.string()),
        "topic": pa.array([r[lv] for r, lv in rows], pa.string()),
        "predicted": pa.array([[r[lv]] for r, lv in rows], pa.list_(pa.string())),
        "p": pa.array([[1.0] for _ in rows], pa.list_(pa.float32()))}))
