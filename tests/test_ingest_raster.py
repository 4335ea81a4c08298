"""pacsmine.ingest.raster: windowing, luminance, inversion, padding and orientation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pacsmine.ingest.raster import Normaliser, Window, apply_window, fit_square, to_luminance, write_png


def test_linear_window_maps_and_clips():
    window = Window(40 - 200, 40 + 200, 40, 400)  # CT soft tissue
    out = apply_window(np.array([-1000.0, -160.0, 40.0, 240.0, 3000.0]), window)
    np.testing.assert_allclose(out, [0.0, 0.0, 127.5, 255.0, 255.0])
    assert apply_window(np.ones(3), Window(5.0, 5.0)).tolist() == [0.0, 0.0, 0.0]


def test_luminance_of_rgb():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[1, 1] = (255, 255, 255)
    lum = to_luminance(rgb)
    assert lum.shape == (2, 2)
    assert lum[0, 0] == pytest.approx(0.299 * 255)
    assert lum[1, 1] == pytest.approx(255.0)
    with pytest.raises(ValueError):
        to_luminance(np.zeros((2, 2, 2, 2)))


def test_pad_keeps_aspect_and_orientation():
    image = np.full((64, 128), 200.0)
    image[:8, :8] = 0.0  # a dark marker at the top-left of the image
    out = fit_square(image, 32, "pad", "nearest")
    assert out.shape == (32, 32) and out.dtype == np.uint8
    # 64 rows become 16 of 32: 8 rows of black padding above and below.
    assert out[:8].max() == 0 and out[-8:].max() == 0
    assert out[12, 20] == 200
    assert out[8, 0] == 0 and out[8, 31] == 200  # marker stays top-left
    stretched = fit_square(image, 32, "stretch", "nearest")
    assert stretched[0, 31] == 200 and stretched[0, 0] == 0
    with pytest.raises(ValueError):
        fit_square(image, 32, "crop")


def test_normaliser_ct_tags_default_and_percentile():
    norm = Normaliser(size=16, resample="nearest", default_window={"CT": (40.0, 400.0)})
    hu = np.full((16, 16), 40.0)
    pixels, window = norm(hu, modality="CT")
    assert (window.center, window.width) == (40.0, 400.0)
    assert int(pixels[0, 0]) == 128  # 127.5 rounds (half to even) to 128
    pixels, window = norm(hu, modality="CT", tag_window=(40.0, 80.0))
    assert window.width == 80.0 and int(pixels[0, 0]) == 128
    ramp = np.arange(256.0).reshape(16, 16) * 10  # MR: percentile window, no tags used
    pixels, window = norm(ramp, modality="MR", tag_window=(600.0, 1600.0))
    assert window.center is None and window.width is None
    assert pixels.min() == 0 and pixels.max() == 255
    assert window.lo == pytest.approx(np.percentile(ramp, 0.5))


def test_normaliser_inverts_monochrome1_and_keeps_rgb_levels():
    norm = Normaliser(size=4, resample="nearest")
    frame = np.zeros((4, 4))
    frame[0, 0] = 100.0
    plain, _ = norm(frame, modality="CR")
    inverted, _ = norm(frame, modality="CR", invert=True)
    assert plain[0, 0] == 255 and inverted[0, 0] == 0 and inverted[3, 3] == 255
    rgb = np.full((4, 4, 3), 100, np.uint8)
    grey, window = norm(rgb, modality="US")
    assert (window.lo, window.hi) == (0.0, 255.0) and int(grey[0, 0]) == 100


def test_write_png_roundtrip(tmp_path):
    image = (np.arange(256, dtype=np.uint16).reshape(16, 16)).astype(np.uint8)
    path = write_png(tmp_path / "x" / "a.png", image)
    with Image.open(path) as img:
        assert img.mode == "L"
        np.testing.assert_array_equal(np.asarray(img), image)
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["a.png"]  # no temporary left
