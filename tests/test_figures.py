"""pacsmine.figures: the Agg backend and atomic PNG writes shared by every stage's figures."""

import sys

from PIL import Image

from pacsmine.figures import pyplot, save_png


def test_a_figure_is_written_as_png_and_closed(tmp_path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    (tmp_path / "sub").mkdir()
    path = save_png(fig, tmp_path / "sub" / "curve.png", dpi=50)
    assert path == tmp_path / "sub" / "curve.png"
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (100, 50)
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["curve.png"]  # no temporary left


def test_the_backend_needs_no_display():
    pyplot()
    assert sys.modules["matplotlib"].get_backend().lower() == "agg"
