"""Linking references to archived images by (accession, series, instance)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pacsmine.nlp.link import AMBIGUOUS, LINKED, UNMATCHED, ImageIndex


def images():
    rows = [
        ("A/3/45", "A", 3, 45, 1), ("A/4/45", "A", 4, 45, 1), ("A/3/46", "A", 3, 46, 1),
        ("A/3/46/2", "A", 3, 46, 2), ("B/2/10", "B", 2, 10, 1),
    ]
    ids, accs, series, inst, frames = map(list, zip(*rows))
    return pa.table({
        "image_id": ids, "accession": accs, "patient_id": ["p"] * 5,
        "series": pa.array(series, pa.int32()), "instance": pa.array(inst, pa.int32()),
        "frame": pa.array(frames, pa.int32()), "png": [f"{i}.png" for i in ids], "modality": ["CT"] * 5,
    })


def test_series_and_instance_match_exactly():
    index = ImageIndex().fit(images())
    status, image = index.link("A", 3, 45)
    assert status == LINKED and image.image_id == "A/3/45" and image.png == "A/3/45.png"
    assert index.link("A", 5, 45) == (UNMATCHED, None)
    assert index.link("C", 3, 45) == (UNMATCHED, None)  # another study's image is never linked


def test_no_series_links_only_when_unambiguous():
    index = ImageIndex().fit(images())
    assert index.link("A", None, 45) == (AMBIGUOUS, None)
    status, image = index.link("A", None, 46)
    assert status == LINKED and image.image_id == "A/3/46"  # the second frame is not a second series
    assert index.link("B", None, 99) == (UNMATCHED, None)


def test_from_parquet_and_missing_file(tmp_path):
    pq.write_table(images(), tmp_path / "images.parquet")
    assert len(ImageIndex.from_parquet(tmp_path / "images.parquet")) == 4
    empty = ImageIndex.from_parquet(tmp_path / "absent.parquet")
    assert len(empty) == 0 and empty.link("A", 3, 45) == (UNMATCHED, None)


def test_series_written_before_in_the_sentence_settles_an_ambiguous_instance():
    index = ImageIndex().fit(images())
    status, image = index.link("A", None, 45, context_series=4)
    assert status == LINKED and image.image_id == "A/4/45"
    assert index.link("A", None, 45, context_series=9) == (AMBIGUOUS, None)
