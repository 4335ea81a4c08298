"""chunked: the one chunking helper of the streamed stages."""

import pytest

from pacsmine.streams import chunked


def test_chunks_keep_order_and_the_last_is_shorter():
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked(iter([]), 3)) == []
    assert list(chunked("abc", 3)) == [["a", "b", "c"]]


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError):
        list(chunked(range(3), 0))
