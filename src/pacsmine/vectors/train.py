"""word2vec training (gensim), from the ``[vectors]`` settings.

:func:`word2vec_params` turns the config into gensim's keyword arguments (skip-gram,
hierarchical softmax, no negative sampling, window, down-sampling, ...);
:func:`train_word2vec` trains on a re-iterable corpus of token lists and returns the
gensim model, whose ``wv`` holds the vectors. The model is never saved with gensim's
pickle-based ``save``: the stage stores ``wv.vectors`` as safetensors.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

__all__ = ["word2vec_params", "scaled_epochs", "train_word2vec"]


def word2vec_params(cfg: dict[str, Any]) -> dict[str, Any]:
    """gensim ``Word2Vec`` keyword arguments from ``config["vectors"]`` (``workers = 0``:
    every core; ``epochs`` as configured: the stage raises it by :func:`scaled_epochs`).
    A setting out of range is a ValueError naming its key."""
    for key in ("vector_size", "window", "epochs", "max_epochs", "min_count", "min_trained_words"):
        if int(cfg[key]) < (0 if key.startswith("min_") else 1):
            raise ValueError(f"vectors.{key} must be at least {0 if key.startswith('min_') else 1}, not {cfg[key]}")
    if int(cfg["negative"]) < 0 or (not cfg["hierarchical_softmax"] and int(cfg["negative"]) == 0):
        raise ValueError("vectors: hierarchical_softmax = false needs negative > 0 (some output layer must train)")
    workers = int(cfg["workers"])
    return {
        "vector_size": int(cfg["vector_size"]),
        "sg": 1 if cfg["skip_gram"] else 0,
        "hs": 1 if cfg["hierarchical_softmax"] else 0,
        "negative": int(cfg["negative"]),
        "window": int(cfg["window"]),
        "sample": float(cfg["sample"]),
        "alpha": float(cfg["alpha"]),
        "min_alpha": float(cfg["min_alpha"]),
        "min_count": int(cfg["min_count"]),
        "epochs": int(cfg["epochs"]),
        "seed": int(cfg["seed"]),
        "workers": workers if workers > 0 else (os.cpu_count() or 1),
    }


def scaled_epochs(tokens: int, epochs: int, min_trained_words: int, max_epochs: int) -> int:
    """Passes over a corpus of ``tokens`` tokens: ``epochs``, raised to ceil(min_trained_words
    / tokens) on a small corpus, never above ``max_epochs`` (nor below ``epochs``)."""
    wanted = -(-int(min_trained_words) // max(1, int(tokens)))
    return max(int(epochs), min(int(max_epochs), wanted))


def train_word2vec(corpus: Iterable[list[str]], params: dict[str, Any], keep: frozenset[str] = frozenset(),
                   on_epoch: Callable[[int], None] | None = None):
    """Train gensim ``Word2Vec`` with ``params`` (:func:`word2vec_params`) on ``corpus``,
    a re-iterable of token lists (read once to count words, once per epoch). Words in
    ``keep`` enter the vocabulary whatever their count (``vectors.keep_terms``);
    ``on_epoch(epoch)`` is called after each pass (a progress bar).
    Returns the trained ``gensim.models.Word2Vec``; its ``wv.vectors`` is (V, vector_size)
    float32, row i the word ``wv.index_to_key[i]`` (most frequent first)."""
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec
    from gensim.utils import RULE_DEFAULT, RULE_KEEP

    def trim_rule(word: str, count: int, min_count: int) -> int:
        return RULE_KEEP if word in keep else RULE_DEFAULT

    model = Word2Vec(**params)
    model.build_vocab(corpus_iterable=corpus, trim_rule=trim_rule if keep else None)
    if not model.wv.index_to_key:
        raise ValueError("vectors: no word reaches vectors.min_count in the corpus; lower it or add text")
    callbacks = []
    if on_epoch is not None:
        class _Epochs(CallbackAny2Vec):
            def __init__(self) -> None:
                self.done = 0

            def on_epoch_end(self, model) -> None:
                self.done += 1
                on_epoch(self.done)

        callbacks.append(_Epochs())
    model.train(corpus_iterable=corpus, total_examples=model.corpus_count, epochs=model.epochs, callbacks=callbacks)
    return model
