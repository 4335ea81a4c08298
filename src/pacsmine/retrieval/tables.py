"""Reading a workspace for the retrieval stage: each key image's referring-sentence terms,
its bigram targets (:mod:`.targets`) and its split.

Reads extract/key_images.parquet (``image_id``, ``accession``, ``sentence_index``: one row
per image and citing sentence), extract/terms.parquet (the mentions), vectors/terms.parquet
(concept ``code`` -> ``token`` and its word-vector row ``index``) and, where the images stage
has run, images/dataset/split.parquet (``image_id`` -> ``split``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..workspace import Workspace
from .targets import image_bigrams

__all__ = ["image_sentences", "build_targets", "TARGET_SCHEMA"]

TARGET_SCHEMA = pa.schema([("image_id", pa.string()), ("split", pa.string()), ("first_code", pa.string()),
                           ("second_code", pa.string()), ("first_token", pa.string()), ("second_token", pa.string())])
_MENTION = ["accession", "sentence_index", "start", "end", "code", "negated", "uncertain"]


def image_sentences(ws: Workspace) -> dict[str, list[list[dict[str, Any]]]]:
    """image_id -> the mention lists (dicts of ``_MENTION``) of its citing sentences, in
    key_images.parquet's order; a sentence without terms is an empty list."""
    keys = pq.read_table(ws.require("extract", "key_images.parquet"), columns=["image_id", "accession", "sentence_index"])
    terms = pq.read_table(ws.require("extract", "terms.parquet"), columns=_MENTION).to_pylist()
    by_sentence: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for m in terms:
        by_sentence[(m["accession"], int(m["sentence_index"]))].append(m)
    out: dict[str, list[list[dict[str, Any]]]] = {}
    for image_id, accession, index in zip(*(keys.column(c).to_pylist() for c in keys.column_names)):
        out.setdefault(image_id, []).append(by_sentence.get((accession, int(index)), []))
    return out


def _vector_tokens(ws: Workspace) -> dict[str, str]:
    """concept code -> its word-vector token, for concepts that have a vector."""
    t = pq.read_table(ws.require("vectors", "terms.parquet"), columns=["code", "token", "index"]).to_pylist()
    return {r["code"]: r["token"] for r in t if r["index"] is not None}


def _splits(ws: Workspace) -> dict[str, str]:
    path = ws.stage_dir("images") / "dataset" / "split.parquet"
    if not path.exists():
        return {}
    t = pq.read_table(path, columns=["image_id", "split"])
    return dict(zip(t.column("image_id").to_pylist(), t.column("split").to_pylist()))


def build_targets(ws: Workspace, cfg: dict[str, Any]) -> tuple[pa.Table, dict[str, Any], dict[str, list[str]]]:
    """(targets table of ``TARGET_SCHEMA``, counts, image_id -> its true term tokens) from the
    ``[retrieval.targets]`` settings (``drop_negated``, ``drop_uncertain``, ``single``).

    An image's true terms are the tokens of the kept mentions of its citing sentences (those
    with a word vector), what recall at K is scored against. Images outside the images stage's
    data set get ``split`` null. Counts: ``key_images``, ``images_with_targets``, ``targets``,
    ``targets_keeping_negated`` (the same rules with negated mentions kept, as the paper),
    ``removed_by_negation`` (the difference), ``self_pairs``, ``pairs_without_vector``,
    ``mentions`` / ``negated_mentions`` / ``uncertain_mentions`` in the citing sentences,
    ``images_without_split``.
    """
    rules = {"drop_negated": bool(cfg["drop_negated"]), "drop_uncertain": bool(cfg["drop_uncertain"]),
             "single": cfg["single"]}
    sentences = image_sentences(ws)
    token = _vector_tokens(ws)
    split = _splits(ws)
    rows: dict[str, list] = {name: [] for name in TARGET_SCHEMA.names}
    truth: dict[str, list[str]] = {}
    counts = {"key_images": len(sentences), "images_with_targets": 0, "targets": 0, "targets_keeping_negated": 0,
              "self_pairs": 0, "pairs_without_vector": 0, "mentions": 0, "negated_mentions": 0,
              "uncertain_mentions": 0, "images_without_split": 0}
    for image_id, lists in sentences.items():
        for mentions in lists:
            counts["mentions"] += len(mentions)
            counts["negated_mentions"] += sum(bool(m["negated"]) for m in mentions)
            counts["uncertain_mentions"] += sum(bool(m["uncertain"]) for m in mentions)
        pairs = image_bigrams(lists, **rules)
        with_negated = image_bigrams(lists, **dict(rules, drop_negated=False))
        counts["targets_keeping_negated"] += sum(a in token and b in token for a, b in with_negated)
        kept = [(a, b) for a, b in pairs if a in token and b in token]
        counts["pairs_without_vector"] += len(pairs) - len(kept)
        words = []
        for mentions in lists:
            for m in sorted(mentions, key=lambda m: m["start"]):
                if (rules["drop_negated"] and m["negated"]) or (rules["drop_uncertain"] and m["uncertain"]):
                    continue
                if m["code"] in token and token[m["code"]] not in words:
                    words.append(token[m["code"]])
        truth[image_id] = words
        if image_id not in split:
            counts["images_without_split"] += 1
        if kept:
            counts["images_with_targets"] += 1
        for a, b in kept:
            counts["self_pairs"] += a == b
            for name, value in (("image_id", image_id), ("split", split.get(image_id)), ("first_code", a),
                                ("second_code", b), ("first_token", token[a]), ("second_token", token[b])):
                rows[name].append(value)
    counts["targets"] = len(rows["image_id"])
    counts["removed_by_negation"] = counts["targets_keeping_negated"] - counts["targets"]
    return pa.table(rows, schema=TARGET_SCHEMA), counts, truth
