"""`pacsmine similar` and `pacsmine vectors` on the command line."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pacsmine.cli import _run, app
from pacsmine.vectors.keyed import WordVectors, save_matrix
from pacsmine.vectors.show import UnknownWord, neighbours_table

WORDS = ["pneumothorax", "pleural_effusion", "liver", "brain"]
# cosines to pneumothorax (1, 0, 0) by hand: pleural_effusion 0.8, liver 0.6, brain 0
MATRIX = np.array([[1, 0, 0], [0.8, 0.6, 0], [0.6, 0, 0.8], [0, 1, 0]], dtype=np.float32)


@pytest.fixture
def workspace(tmp_path):
    """A workspace whose vectors stage has finished with the hand-made vectors."""
    from pacsmine.workspace import Workspace

    ws = Workspace(tmp_path / "ws")

    def body(ctx):
        save_matrix(ctx.path("vectors.safetensors"), MATRIX)
        ctx.write_parquet("vocabulary.parquet", pa.table({"word": WORDS, "index": pa.array(range(4), pa.int32())}))
        return {}

    ws.run_stage("vectors", {}, {}, body)
    return ws.root


def _cli(args, capsys):
    with pytest.raises(SystemExit) as stop:
        _run(app, args)
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def test_similar_prints_the_neighbours_in_order(workspace):
    result = CliRunner().invoke(app, ["similar", "Pleural Effusion", "--workspace", str(workspace), "--top", "2"])
    assert result.exit_code == 0, result.output
    assert "nearest to pleural_effusion" in result.output
    lines = [line for line in result.output.splitlines() if "│" in line]
    # cosines to pleural_effusion (0.8, 0.6, 0): pneumothorax 0.8, brain 0.6, liver 0.48
    assert "pneumothorax" in lines[0] and "0.800" in lines[0] and "brain" in lines[1] and "0.600" in lines[1]
    assert len(lines) == 2


def test_unknown_word_is_one_line_with_close_words(workspace, capsys):
    status, out, err = _cli(["similar", "pneumothorx", "--workspace", str(workspace)], capsys)
    assert status == 1 and out == ""
    assert err.count("\n") == 1
    assert "'pneumothorx' is not in the word vectors" in err and "close words: pneumothorax" in err


def test_similar_before_the_stage_is_a_usage_error(tmp_path, capsys):
    status, _, err = _cli(["similar", "lung", "--workspace", str(tmp_path)], capsys)
    assert status == 2 and "pacsmine vectors" in err and err.count("\n") == 1


def test_vectors_before_extract_is_a_usage_error(tmp_path, capsys):
    status, _, err = _cli(["vectors", "--workspace", str(tmp_path)], capsys)
    assert status == 2 and "pacsmine extract" in err


def test_neighbours_table_rows():
    table = neighbours_table(WordVectors(WORDS, MATRIX), "pneumothorax", 3, "WS")
    assert table.columns[1]._cells == ["pleural_effusion", "liver", "brain"]
    assert table.columns[2]._cells == ["0.800", "0.600", "0.000"]
    with pytest.raises(UnknownWord, match="in the word vectors of WS$"):
        neighbours_table(WordVectors(WORDS, MATRIX), "zzzz", 3, "WS")
