"""pacsmine.ingest.images: the walk, work items from a manifest, and chunk conversion."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pacsmine.ingest.images import Item, convert_chunk, image_id, init_worker, iter_items, png_name, safe_name, walk_files
from test_ingest_dicom import make_dicom


def test_walk_is_sorted_lazy_and_skips_hidden(tmp_path):
    for rel in ["b/2.dcm", "b/10.dcm", "a/z/1.dcm", ".hidden/x.dcm", "a/.DS_Store", "c.dcm"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    walk = walk_files(tmp_path)
    assert next(walk).relative_to(tmp_path).as_posix() == "a/z/1.dcm"
    rest = [p.relative_to(tmp_path).as_posix() for p in walk]
    assert rest == ["b/10.dcm", "b/2.dcm", "c.dcm"]


def test_ids_and_names():
    assert image_id("A1", 2, 7) == "A1/2/7" and image_id("A1", 2, 7, 3) == "A1/2/7/3"
    assert png_name("A1", 2, 7) == "images/A1/2_7.png" and png_name("A1", 2, 7, 2) == "images/A1/2_7_2.png"
    assert safe_name("A1.b-c") == "A1.b-c"
    assert safe_name("x/y") != safe_name("x_y") and "/" not in safe_name("x/y")


def _export(tmp_path):
    export = tmp_path / "export"
    (export / "images" / "p").mkdir(parents=True)
    Image.fromarray(np.full((10, 20), 77, np.uint8)).save(export / "images" / "p" / "listed.png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(export / "images" / "p" / "stray.png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(export / "images" / "p" / "CXR9_1_IM-0002-3001.png")
    make_dicom(export / "images" / "p" / "a.dcm", np.zeros((4, 4), np.int16))
    (export / "images" / "p" / "DICOMDIR").write_bytes(b"")
    (export / "images.csv").write_text(
        "path,accession,series,instance\n"
        "images/p/listed.png,R1,1,2\n"
        "images/p/missing.png,R1,1,3\n"
        "images/p/listed.png,,1,4\n"
    )
    return export


def test_items_from_manifest_then_walk(tmp_path, config):
    export = _export(tmp_path)
    items = list(iter_items(export, config["ingest"]))
    kinds = [(i.kind, i.source) for i in items]
    assert kinds == [
        ("raster", "images/p/listed.png"),
        ("raster", "images/p/missing.png"),
        ("raster", "images/p/listed.png"),
        ("raster", "images/p/CXR9_1_IM-0002-3001.png"),  # identified by its OpenI name
        ("dicom", "images/p/a.dcm"),
        ("unlisted", "images/p/stray.png"),
    ]
    assert dict(items[0].ids)["accession"] == "R1"
    named = dict(items[3].ids)
    assert (named["accession"], named["series"], named["instance"], named["modality"]) == ("9", "0002", "3001", "CR")
    config["ingest"]["image"]["name_pattern"] = ""
    assert [i.kind for i in iter_items(export, config["ingest"])][3] == "unlisted"  # manifest only


def test_convert_chunk(tmp_path, config):
    export = _export(tmp_path)
    init_worker(config["ingest"])
    items = list(iter_items(export, config["ingest"]))
    index, rows, rejects = convert_chunk((3, items, str(tmp_path / "scratch")))
    assert index == 3
    assert [(r["image_id"], r["source"]) for r in rows] == [
        ("R1/1/2", "images/p/listed.png"), ("9/2/3001", "images/p/CXR9_1_IM-0002-3001.png"),
        ("ACC1/2/7", "images/p/a.dcm")]
    png = rows[0]
    with Image.open(png["tmp_png"]) as img:
        arr = np.asarray(img)
    assert arr.shape == (256, 256) and arr[128, 128] == 77 and arr[0, 128] == 0  # 8-bit kept, padded
    assert (png["rows"], png["columns"], png["png"]) == (10, 20, "ingest/images/R1/1_2.png")
    assert [r["reason"] for r in rejects] == ["unreadable_file", "missing_tags", "not_in_manifest"]
    assert rows[2]["window_center"] == 40.0 and rows[2]["modality"] == "CT"


def test_unlisted_item_becomes_reject(config):
    init_worker(config["ingest"])
    item = Item("unlisted", "", "images.csv:4", (("reason", "malformed_row"), ("detail", "bad")))
    _, rows, rejects = convert_chunk((0, [item], "/nonexistent"))
    assert rows == [] and rejects == [{"kind": "image", "source": "images.csv:4", "key": "",
                                       "reason": "malformed_row", "detail": "bad"}]


# --------------------------------------------------------------------------- confinement (issue 8)


def _confined_export(tmp_path):
    """An export whose manifest and images folder point outside it in every way."""
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.fromarray(np.full((6, 6), 200, np.uint8)).save(outside / "x.png")
    (outside / "folder").mkdir()
    export = tmp_path / "site" / "export"
    images = export / "images"
    images.mkdir(parents=True)
    Image.fromarray(np.full((6, 6), 50, np.uint8)).save(images / "in.png")
    (images / "to_outside.png").symlink_to(outside / "x.png")
    (images / "to_inside.png").symlink_to(images / "in.png")
    (images / "dangling.dcm").symlink_to(images / "gone.dcm")
    (images / "to_folder").symlink_to(outside / "folder")
    (images / "to_own_folder").symlink_to(images)  # a loop, if it were followed
    (export / "images.csv").write_text(
        "path,accession,series,instance\n"
        "../../outside/x.png,R1,1,1\n"
        f"{outside / 'x.png'},R1,1,1\n"
        f"{images / 'in.png'},R1,1,1\n"
        "images/to_outside.png,R2,1,1\n"
        "images/to_inside.png,R3,1,1\n"
    )
    return export, outside


def test_paths_outside_the_export_are_rejected_unopened(tmp_path, config, monkeypatch):
    export, outside = _confined_export(tmp_path)
    items = list(iter_items(export, config["ingest"]))
    got = [(i.kind, i.source, dict(i.ids).get("reason")) for i in items]
    assert got == [
        ("unlisted", "../../outside/x.png", "outside_export"),
        ("unlisted", (outside / "x.png").as_posix(), "outside_export"),
        ("raster", "images/in.png", None),  # absolute, but inside: read
        ("unlisted", "images/to_outside.png", "outside_export"),
        ("raster", "images/to_inside.png", None),
        ("unlisted", "images/dangling.dcm", "dangling_symlink"),
        ("unlisted", "images/to_folder", "outside_export"),
        ("unlisted", "images/to_own_folder", "symlink_to_folder"),
    ]
    # Nothing outside the export is ever opened.
    import builtins

    real_open = builtins.open
    opened = []

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    init_worker(config["ingest"])
    _, rows, rejects = convert_chunk((0, items, str(tmp_path / "scratch")))
    assert not [f for f in opened if f.startswith(str(outside))]
    assert [r["source"] for r in rows] == ["images/in.png", "images/to_inside.png"]
    assert [r["image_id"] for r in rows] == ["R1/1/1", "R3/1/1"]
    assert {r["reason"] for r in rejects} == {"outside_export", "dangling_symlink", "symlink_to_folder"}
    assert all(r["detail"] for r in rejects)


def test_walk_yields_links_and_skips_special_files(tmp_path):
    import os

    (tmp_path / "a.dcm").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "pipe")  # opening it would block forever
    assert [p.name for p in walk_files(tmp_path)] == ["a.dcm", "link"]
