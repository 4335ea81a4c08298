"""What ``pacsmine similar`` prints: a word's nearest neighbours as a rich table."""

from __future__ import annotations

from .keyed import WordVectors

__all__ = ["UnknownWord", "neighbours_table"]


class UnknownWord(LookupError):
    """The word is not in the vocabulary; the message is one line with close spellings."""


def neighbours_table(vectors: WordVectors, word: str, top: int, where: str):
    """A ``rich.table.Table`` of the ``top`` nearest words to ``word`` (rank, word, cosine).
    Raises :class:`UnknownWord` (one line naming ``where`` and up to five close words)."""
    from rich.table import Table

    key = vectors.key(word)
    if key is None:
        close = vectors.suggest(word, 5)
        hint = f"; close words: {', '.join(close)}" if close else ""
        raise UnknownWord(f"'{word}' is not in the word vectors of {where}{hint}")
    table = Table(title=f"nearest to {key}", caption=f"{len(vectors)} words, {vectors.dim}-d, cosine similarity")
    table.add_column("#", justify="right")
    table.add_column("word")
    table.add_column("cosine", justify="right")
    for rank, (other, cosine) in enumerate(vectors.most_similar(key, top), 1):
        table.add_row(str(rank), other, f"{cosine:.3f}")
    return table
