"""Helpers for streamed corpora: nothing here holds more than one chunk."""

from __future__ import annotations

from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

__all__ = ["chunked"]


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last one shorter); ``itertools.batched``
    arrives only in Python 3.12."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, not {size}")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
