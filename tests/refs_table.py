"""The real-prose reference table (tests/data/refs_real_prose.tsv): one reader for the test
(tests/test_refs.py) and the bench (bench/refs_real.py).

Each row: ``source``, the expected pairs written by hand ("S:A-B" or "-:A" for no series, space
separated; "" for none) and the sentence as written in its source.
"""

from __future__ import annotations

from pathlib import Path

TABLE = Path(__file__).parent / "data" / "refs_real_prose.tsv"


def expected_pairs(field: str) -> list[tuple[int | None, int]]:
    """"2:12-14 -:5" -> [(2, 12), (2, 13), (2, 14), (None, 5)]."""
    out = []
    for item in field.split():
        series, images = item.split(":")
        s = None if series == "-" else int(series)
        a, _, b = images.partition("-")
        out += [(s, i) for i in range(int(a), int(b or a) + 1)]
    return out


def read_table(path: Path = TABLE) -> list[tuple[str, str, list[tuple[int | None, int]]]]:
    """``(source, sentence, expected pairs)`` per row, comments and the header skipped."""
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("source\t"):
            continue
        source, expected, text = line.split("\t", 2)
        rows.append((source, text, expected_pairs(expected)))
    return rows
