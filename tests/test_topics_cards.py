import numpy as np
from PIL import Image

from pacsmine.topics.cards import montage, selection_figure, topic_card


def _png(path, value):
    Image.fromarray(np.full((256, 256), value, dtype=np.uint8)).save(path)
    return path


def test_montage_tiles_images_in_rows_and_leaves_broken_ones_black(tmp_path):
    paths = [_png(tmp_path / f"{v}.png", v) for v in (50, 100, 150, 200, 250)]
    paths.insert(2, tmp_path / "missing.png")
    mosaic = montage(paths, columns=4, tile=32)
    assert mosaic.shape == (64, 128) and mosaic.dtype == np.uint8
    assert mosaic[16, 16] == 50 and mosaic[16, 48] == 100
    assert mosaic[16, 80] == 0  # the missing image
    assert mosaic[48, 16] == 200 and mosaic[48, 48] == 250
    assert mosaic[0, 16] == 0  # border between tiles


def test_topic_card_and_selection_figure_are_pngs(tmp_path):
    images = [_png(tmp_path / f"{v}.png", v) for v in (30, 90)]
    card = topic_card(tmp_path / "cards" / "level1_3.png", "level1 topic 3", ["liver", "lesion"], [0.2, 0.1],
                      doc_count=12, image_count=2, flagged=True, images=images)
    with Image.open(card) as img:
        assert img.format == "PNG" and img.width > 400
    empty = topic_card(tmp_path / "cards" / "level1_4.png", "t", ["a"], [1.0], 0, 0, False, [])
    assert empty.exists()
    curves = [{"k": [5, 10, 20], "perplexity": [30.0, 20.0, 22.0], "npmi": [0.1, 0.3, 0.2], "chosen_k": 10}]
    fig = selection_figure(tmp_path / "selection.png", curves, "level 1")
    with Image.open(fig) as img:
        assert img.format == "PNG"
