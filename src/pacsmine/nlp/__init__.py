"""Report NLP: sections, sentences, tokens, key-image references, linking, disease
terms (part B), the ``extract`` stage and corpus statistics."""

from __future__ import annotations

__all__ = ["run_extract", "evaluate_extract"]


def run_extract(ws, config, force: bool = False):
    """Run the ``extract`` stage (see :func:`pacsmine.nlp.extract.run_extract`)."""
    from .extract import run_extract as _run

    return _run(ws, config, force=force)


def evaluate_extract(ws, truth):
    """Score ``extract`` against a phantom truth folder (see :mod:`pacsmine.nlp.evaluate`)."""
    from .evaluate import evaluate_extract as _eval

    return _eval(ws, truth)
