"""Word vectors as stored in a workspace, and their nearest neighbours (numpy only).

On disk (WS/vectors/, docs/workspace.md): ``vectors.safetensors`` holds one float32
tensor ``vectors`` of shape (V, dim), row i the vector of word i; ``vocabulary.parquet``
holds one row per word (``word``, ``count``, ``index`` = its row, ``is_term``, ``code``,
``name``). Neither format can run code when read: loading never unpickles.

Nearest neighbours are by cosine similarity, u.v / (|u| |v|), against every row
(exact search; a zero vector has cosine 0 with everything).
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["WordVectors", "save_matrix", "load_vectors", "lookup_key", "VECTORS_FILE", "VOCABULARY_FILE"]

VECTORS_FILE = "vectors.safetensors"
VOCABULARY_FILE = "vocabulary.parquet"
_WORDS = re.compile(r"[a-z0-9]+")


def lookup_key(text: str) -> str:
    """How a user's word is looked up: lower case, its letters and digits joined by ``_``
    ("Pleural Effusion" -> ``pleural_effusion``), the form term tokens are stored in."""
    return "_".join(_WORDS.findall(text.lower()))


class WordVectors:
    """Words and their vectors: ``words`` (list of V str), ``matrix`` ((V, dim) float32),
    ``index`` (word -> row)."""

    def __init__(self, words: Sequence[str], matrix: np.ndarray):
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but a matrix of shape {matrix.shape}")
        self.words = list(words)
        self.matrix = matrix
        self.index = {w: i for i, w in enumerate(self.words)}
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self._unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def key(self, text: str) -> str | None:
        """The stored word for ``text``: itself if stored, else its :func:`lookup_key`
        if that is stored, else None."""
        if text in self.index:
            return text
        key = lookup_key(text)
        return key if key in self.index else None

    def vector(self, word: str) -> np.ndarray | None:
        """The (dim,) float32 vector of ``word`` (looked up as :meth:`key`), or None."""
        key = self.key(word)
        return None if key is None else self.matrix[self.index[key]]

    def most_similar(self, word_or_vector: str | np.ndarray, top: int,
                     among: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The ``top`` words of highest cosine similarity to a word (itself left out) or to a
        (dim,) vector, best first, as (word, cosine) pairs; ``among`` restricts the candidates.
        An unknown word is a KeyError."""
        if isinstance(word_or_vector, str):
            key = self.key(word_or_vector)
            if key is None:
                raise KeyError(word_or_vector)
            query, skip = self._unit[self.index[key]], self.index[key]
        else:
            query = np.asarray(word_or_vector, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(query))
            query, skip = (query / norm if norm > 0 else query), -1
        rows = np.arange(len(self.words)) if among is None else np.array(
            [self.index[w] for w in among if w in self.index], dtype=np.int64)
        rows = rows[rows != skip]
        if top <= 0 or rows.size == 0:
            return []
        scores = self._unit[rows] @ query
        top = min(int(top), rows.size)
        best = np.argpartition(-scores, top - 1)[:top]
        # Ties broken by row (stable), so a result does not depend on argpartition's order.
        best = best[np.lexsort((rows[best], -scores[best]))]
        return [(self.words[rows[i]], float(scores[i])) for i in best]

    def suggest(self, text: str, n: int) -> list[str]:
        """Up to ``n`` stored words close in spelling to ``text`` (difflib), for an unknown word."""
        return difflib.get_close_matches(lookup_key(text) or text, self.words, n=n, cutoff=0.6)


def save_matrix(path: str | Path, matrix: np.ndarray) -> None:
    """Write a (V, dim) matrix as float32 tensor ``vectors`` of a safetensors file at ``path``
    (the stage passes a temporary name and renames it: pacsmine.workspace.atomic_path)."""
    from safetensors.numpy import save

    # Bytes into the file given (save_file would replace it, losing the mode atomic_path set).
    Path(path).write_bytes(save({"vectors": np.ascontiguousarray(matrix, dtype=np.float32)}))


def load_vectors(ws_or_folder) -> WordVectors:
    """The word vectors of a workspace (a :class:`pacsmine.workspace.Workspace`: its
    ``vectors/`` folder) or of a folder holding ``vectors.safetensors`` and
    ``vocabulary.parquet``. Reads safetensors and Parquet only: nothing is unpickled."""
    from safetensors.numpy import load_file

    if isinstance(ws_or_folder, (str, os.PathLike)):
        folder = Path(ws_or_folder)
    else:
        folder = Path(ws_or_folder.root) / "vectors"
    vectors, vocabulary = folder / VECTORS_FILE, folder / VOCABULARY_FILE
    if not vectors.exists() or not vocabulary.exists():
        raise FileNotFoundError(f"no word vectors in {folder}: run `pacsmine vectors` first")
    matrix = load_file(str(vectors))["vectors"]
    table = pq.read_table(vocabulary, columns=["word", "index"])
    order = np.asarray(table.column("index").to_numpy(), dtype=np.int64)
    words = table.column("word").to_pylist()
    ordered = [""] * len(words)
    for word, row in zip(words, order):
        ordered[row] = word
    return WordVectors(ordered, matrix)
