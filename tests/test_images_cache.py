"""Decoding key images once: resize, centre crop, reject reasons, the cache round trip."""

import numpy as np
from PIL import Image

from pacsmine.images.cache import decode_all, decode_png, load_cache, save_cache


def test_decode_resizes_the_shorter_side_and_centre_crops(tmp_path):
    # 40 wide x 20 high: left half black, right half white; resize 10 -> 20x10, centre 10x10 crop.
    pixels = np.zeros((20, 40), np.uint8)
    pixels[:, 20:] = 255
    Image.fromarray(pixels).save(tmp_path / "a.png")
    out = decode_png(tmp_path / "a.png", 10)
    assert out.shape == (10, 10) and out.dtype == np.uint8
    assert out[:, :4].max() < 30 and out[:, 6:].min() > 225


def test_missing_and_unreadable_pngs_are_reasons_not_crashes(tmp_path):
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    images, reasons = decode_all([tmp_path / "good.png", tmp_path / "absent.png", tmp_path / "bad.png"], 8)
    assert reasons == [None, "missing_png", "unreadable_png"]
    assert images.shape == (3, 1, 8, 8)
    assert (images[0] == 7).all() and (images[1:] == 0).all()


def test_cache_round_trip_and_mismatch(tmp_path):
    images = np.arange(2 * 1 * 4 * 4, dtype=np.uint8).reshape(2, 1, 4, 4)
    save_cache(tmp_path / "c.safetensors", images, ["a", "b"], [None, "missing_png"])
    loaded, reasons = load_cache(tmp_path / "c.safetensors", ["a", "b"])
    assert np.array_equal(loaded, images) and reasons == [None, "missing_png"]
    assert load_cache(tmp_path / "c.safetensors", ["a", "c"]) is None
    assert load_cache(tmp_path / "absent.safetensors", ["a"]) is None
