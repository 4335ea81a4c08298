"""An LDA estimator over token lists, backed by tomotopy (collapsed Gibbs sampling in C++).

``TopicModel`` follows the scikit-learn convention: the constructor only stores
parameters, ``fit`` learns, learned attributes end in ``_``. A corpus is any
*re-iterable* of token lists (``list[str]`` per document), for instance a
:class:`ParquetCorpus` that streams the ``tokens`` column of a Parquet table in
record batches, so the archive is never held twice in memory (tomotopy keeps its
own compact copy of the word ids while it trains).

Models are saved with tomotopy's own binary format, never pickled.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

__all__ = ["TopicModel", "ParquetCorpus", "resolve_workers"]


def resolve_workers(workers: int) -> int:
    """``0`` means every core tomotopy sees; a positive number is used as given."""
    return max(0, int(workers))


class ParquetCorpus:
    """A re-iterable stream of token lists from one list<string> column of a Parquet file.

    ``rows`` (sorted 0-based row numbers, or a boolean mask over the table) keeps only
    those documents, in table order. Iterating reads the file in record batches of
    ``batch_size`` rows; ``len()`` is the number of documents yielded.
    """

    def __init__(self, path: str | Path, column: str = "tokens", rows: np.ndarray | None = None,
                 batch_size: int = 8192):
        self.path = Path(path)
        self.column = column
        self.rows = rows
        self.batch_size = batch_size

    def _selected(self) -> np.ndarray | None:
        if self.rows is None:
            return None
        rows = np.asarray(self.rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return np.sort(rows.astype(np.int64))

    def __len__(self) -> int:
        rows = self._selected()
        if rows is not None:
            return int(len(rows))
        import pyarrow.parquet as pq

        return pq.ParquetFile(self.path).metadata.num_rows

    def subset(self, rows: np.ndarray) -> "ParquetCorpus":
        """The documents at positions ``rows`` *of this corpus* (not of the file)."""
        own = self._selected()
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        absolute = rows if own is None else own[rows]
        return ParquetCorpus(self.path, self.column, absolute, self.batch_size)

    def __iter__(self) -> Iterator[list[str]]:
        import pyarrow.parquet as pq

        wanted = self._selected()
        start = 0
        cursor = 0  # position in ``wanted``
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=self.batch_size, columns=[self.column]):
            n = batch.num_rows
            column = batch.column(0)
            if wanted is None:
                for tokens in column.to_pylist():
                    yield tokens or []
            else:
                stop = np.searchsorted(wanted, start + n, side="left")
                for row in wanted[cursor:stop]:
                    yield column[int(row - start)].as_py() or []
                cursor = stop
                if cursor >= len(wanted):
                    return
            start += n


class TopicModel:
    """Latent Dirichlet allocation with ``k`` topics.

    Parameters
    ----------
    k : number of topics.
    alpha : symmetric document-topic Dirichlet prior (per topic); tomotopy re-estimates
        it every ``optim_interval`` iterations (0 keeps it fixed).
    eta : topic-word Dirichlet prior.
    iterations : Gibbs sweeps over the corpus.
    burn_in : sweeps before the prior is first optimised.
    seed : random seed; results are reproducible only with ``workers=1``.
    workers : sampling threads (0 = every core).
    min_cf : words seen fewer times in the training corpus are left out.

    Learned attributes
    ------------------
    model_ : the tomotopy ``LDAModel``.
    vocabulary_ : list[str] of length V, the words of ``topic_word_``'s columns.
    topic_word_ : float64 array (K, V), each row a word distribution (sums to 1).
    alpha_ : float64 array (K,), the (re-estimated) document-topic prior.
    doc_topic_ : float32 array (n_docs, K), each training document's topic
        distribution in corpus order (the prior mean for a document with no known word).
    n_docs_, n_tokens_ : documents and tokens seen by ``fit``.
    """

    def __init__(self, k: int = 20, alpha: float = 0.1, eta: float = 0.01, iterations: int = 200,
                 burn_in: int = 0, seed: int = 0, workers: int = 0, min_cf: int = 0,
                 optim_interval: int = 10, infer_iterations: int = 100):
        self.k = k
        self.alpha = alpha
        self.eta = eta
        self.iterations = iterations
        self.burn_in = burn_in
        self.seed = seed
        self.workers = workers
        self.min_cf = min_cf
        self.optim_interval = optim_interval
        self.infer_iterations = infer_iterations

    # ------------------------------------------------------------------ learning

    def fit(self, corpus: Iterable[Sequence[str]], callback=None) -> "TopicModel":
        """Learn topics from ``corpus`` (an iterable of token lists).

        ``callback(done, total)`` is called every few iterations (progress bars).
        """
        import tomotopy as tp

        model = tp.LDAModel(k=int(self.k), alpha=float(self.alpha), eta=float(self.eta),
                            seed=int(self.seed), min_cf=int(self.min_cf))
        model.burn_in = int(self.burn_in)
        model.optim_interval = int(self.optim_interval)
        # tomotopy skips empty documents; remember which corpus rows it kept.
        kept: list[int] = []
        n_docs = 0
        for i, tokens in enumerate(corpus):
            n_docs += 1
            if model.add_doc(list(tokens), ignore_empty_words=True) is not None:
                kept.append(i)
        if not kept:
            raise ValueError("cannot fit a topic model: the corpus has no token")
        step = max(1, min(10, self.iterations // 20 or 1))
        done = 0
        while done < self.iterations:
            n = min(step, self.iterations - done)
            with warnings.catch_warnings():
                # tomotopy warns on every call that several workers are not reproducible;
                # topics.toml says so once.
                warnings.simplefilter("ignore", RuntimeWarning)
                model.train(n, workers=resolve_workers(self.workers))
            done += n
            if callback is not None:
                callback(done, self.iterations)
        self._set_learned(model)
        theta = np.empty((n_docs, self.k_), dtype=np.float32)
        theta[:] = (self.alpha_ / self.alpha_.sum()).astype(np.float32)
        # Iterate (indexing tomotopy 0.14's corpus view past 0 raises IndexError).
        for row, doc in zip(kept, model.docs):
            theta[row] = doc.get_topic_dist()
        self.doc_topic_ = theta
        self.n_docs_ = n_docs
        self.n_tokens_ = int(model.num_words)
        return self

    def _set_learned(self, model) -> None:
        self.model_ = model
        self.k_ = int(model.k)
        self.vocabulary_ = list(model.used_vocabs)
        phi = np.array([model.get_topic_word_dist(t) for t in range(model.k)], dtype=np.float64)
        phi /= phi.sum(axis=1, keepdims=True)
        self.topic_word_ = phi
        self.alpha_ = np.asarray(model.alpha, dtype=np.float64).reshape(-1)
        if self.alpha_.size == 1:
            self.alpha_ = np.full(self.k_, float(self.alpha_[0]))

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError("TopicModel is not fitted: call fit() or load() first")

    # ------------------------------------------------------------------ use

    def transform(self, corpus: Iterable[Sequence[str]], batch_size: int = 4096) -> np.ndarray:
        """Topic distributions (float32, n_docs x K) of new documents, topics held fixed.

        Words the model never saw are ignored; a document with none gets the prior mean.
        """
        self._check_fitted()
        out: list[np.ndarray] = []
        batch: list[list[str]] = []

        def flush() -> None:
            docs = [self.model_.make_doc(tokens) for tokens in batch]
            theta, _ = self.model_.infer(docs, iterations=int(self.infer_iterations),
                                         workers=resolve_workers(self.workers))
            out.append(np.asarray(theta, dtype=np.float32).reshape(len(batch), self.k_))
            batch.clear()

        for tokens in corpus:
            batch.append(list(tokens))
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        if not out:
            return np.zeros((0, self.k_), dtype=np.float32)
        return np.concatenate(out)

    def top_words(self, topic: int, n: int = 50) -> list[tuple[str, float]]:
        """The ``n`` most probable words of ``topic`` with their probabilities."""
        self._check_fitted()
        row = self.topic_word_[topic]
        order = np.argsort(-row, kind="stable")[:n]
        return [(self.vocabulary_[i], float(row[i])) for i in order]

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Save the topics (not the training documents) in tomotopy's binary format, atomically."""
        from ..workspace import atomic_path

        self._check_fitted()
        path = Path(path)
        with atomic_path(path) as tmp:
            self.model_.save(str(tmp), full=False)
        return path

    @classmethod
    def load(cls, path: str | Path, workers: int = 0, infer_iterations: int = 100) -> "TopicModel":
        """A fitted ``TopicModel`` from a file written by :meth:`save` (ready to ``transform``)."""
        import tomotopy as tp

        model = tp.LDAModel.load(str(path))
        self = cls(k=int(model.k), eta=float(model.eta), workers=workers, infer_iterations=infer_iterations)
        self._set_learned(model)
        self.alpha = float(self.alpha_.mean())
        return self
