"""The most frequent mentions of a workspace's terms.parquet, by vocabulary layer.

    PYTHONPATH=src .venv/bin/python bench/vocabulary_mentions.py WORKSPACE [--top 25] [--source chexpert]

Reads ``WORKSPACE/extract/terms.parquet`` (or a terms.parquet path) and prints, per
``source`` (the layer that won), the ``--top`` (count, name, text as written, lower case)
rows, then the mention count per source. Use it to see what a vocabulary change does to a
corpus: run extract before and after on the same workspace copy and compare.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path, help="a workspace folder or a terms.parquet file")
    ap.add_argument("--top", type=int, default=25, help="rows per source (default 25)")
    ap.add_argument("--source", action="append", default=[], help="only this source (repeatable)")
    args = ap.parse_args()
    path = args.workspace
    if path.is_dir():
        path = path / "extract" / "terms.parquet"
    if not path.is_file():
        raise SystemExit(f"bench/vocabulary_mentions.py: {path} not found")
    table = pq.read_table(path, columns=["source", "name", "text"]).to_pydict()
    rows = Counter(zip(table["source"], table["name"], (t.lower() for t in table["text"])))
    per_source = Counter(table["source"])
    for source in sorted(per_source, key=lambda s: -per_source[s]):
        if args.source and source not in args.source:
            continue
        print(f"## {source}: {per_source[source]} mentions")
        top = sorted(((n, name, text) for (s, name, text), n in rows.items() if s == source), key=lambda r: (-r[0], r[1], r[2]))
        for n, name, text in top[: args.top]:
            print(f"{n:6d}  {name!r} <- {text!r}")
    print("mentions per source: " + ", ".join(f"{s} {n}" for s, n in per_source.most_common()) + f"; total {sum(per_source.values())}")


if __name__ == "__main__":
    main()
