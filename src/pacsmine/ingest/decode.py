"""Bytes of a reports file to text, in the configured encoding, counting what did not decode.

``TextDecoder(encoding, errors)`` turns one cell's bytes into ``str``. A cell that decodes
cleanly costs one ``bytes.decode``; one that does not goes through the configured error
handler (``ingest.encoding_errors``: ``replace`` gives U+FFFD, ``strict`` raises
``UnicodeDecodeError`` so the caller rejects the row, or any other Python handler), and
``replaced`` counts the invalid byte sequences met, so that a Latin-1 file read as UTF-8
is noticed instead of silently becoming U+FFFD.
"""

from __future__ import annotations

import codecs

from .errors import IngestError

__all__ = ["TextDecoder"]

_COUNTING = "pacsmine-counting"


class _State:
    handler = None
    count = 0


def _counting(exc: UnicodeError):
    _State.count += 1
    return _State.handler(exc)


codecs.register_error(_COUNTING, _counting)


class TextDecoder:
    """Decode bytes with ``encoding`` and the error handler ``errors``; ``replaced`` is
    the number of invalid byte sequences handled so far. Unknown names raise
    :class:`IngestError` naming the config key."""

    def __init__(self, encoding: str, errors: str):
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise IngestError(f"unknown text encoding {encoding!r}", "ingest.encoding",
                              "set --set ingest.encoding=utf-8 (or latin-1, cp1252, ...)") from None
        try:
            self._handler = codecs.lookup_error(errors)
        except LookupError:
            raise IngestError(f"unknown decoding error handler {errors!r}", "ingest.encoding_errors",
                              "set --set ingest.encoding_errors=replace (or strict, ignore)") from None
        self.encoding = encoding
        self.errors = errors
        self.replaced = 0

    def __call__(self, data: bytes) -> str:
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError:
            if self.errors == "strict":
                raise
        _State.handler, _State.count = self._handler, 0
        text = data.decode(self.encoding, _COUNTING)
        self.replaced += _State.count
        return text
