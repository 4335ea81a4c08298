"""The three topic levels of the paper, each a K search followed by a final fit.

- level 1: LDA over whole reports, K of lowest held-out perplexity;
- level 2: LDA within the reports of each level-1 topic (ids "<parent>.<j>"), K chosen
  per parent by the same rule; parents with too few reports are not split;
- level 3: LDA over each key image's referring sentence with its neighbours, K by the
  elbow rule (perplexity keeps falling with K there).

:func:`fit_level` is the shared step: split by patient, fit every K of the grid on the
training side, score held-out perplexity (document completion) and NPMI, choose K,
and refit the chosen K on every document.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..progress import console, progress
from ..workspace import write_json, write_parquet
from .lda import ParquetCorpus, TopicModel
from .selection import (HeldOut, at_grid_edge, choose_k, completion_perplexity, edge_step, k_cap, k_grid,
                        npmi_coherence, split_by_patient)

__all__ = ["LevelFit", "fit_level", "level_params", "group_rows", "write_theta", "read_theta", "edge_warning"]


@dataclass
class LevelFit:
    """Outcome of one level (or one level-2 parent).

    ``model``: the final TopicModel (fitted on every document); ``theta``: float32
    (n_docs, K) in corpus order; ``selection``: the K curve (JSON-able).
    """

    model: TopicModel
    theta: np.ndarray
    selection: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> np.ndarray:
        """Arg-max topic (int64, n_docs) of every document."""
        return np.argmax(self.theta, axis=1).astype(np.int64)


def level_params(common: dict[str, Any], level: dict[str, Any]) -> dict[str, Any]:
    """Level settings over the stage-wide ones (a level may override alpha, eta, ...)."""
    keys = ("alpha", "eta", "burn_in", "optim_interval", "min_cf", "seed", "workers",
            "heldout_fraction", "fold_in_iterations", "max_heldout_docs", "coherence_top_n",
            "infer_iterations")
    merged = {key: common[key] for key in keys if key in common}
    merged.update({key: value for key, value in level.items()})
    return merged


def _model(params: dict[str, Any], k: int, iterations: int) -> TopicModel:
    return TopicModel(k=k, alpha=params["alpha"], eta=params["eta"], iterations=iterations,
                      burn_in=params.get("burn_in", 0), seed=params["seed"], workers=params["workers"],
                      min_cf=params.get("min_cf", 0), optim_interval=params.get("optim_interval", 10),
                      infer_iterations=params.get("infer_iterations", 100))


def fit_level(corpus: ParquetCorpus, patient_ids: Sequence[str], params: dict[str, Any], name: str,
              show_progress: bool = True, checkpoint: str | Path | None = None) -> LevelFit:
    """Search K on a patient-grouped split of ``corpus``, then fit the chosen K on all of it.

    ``params`` (see topics.toml): ``k_grid``, ``docs_per_topic``, ``max_k``, ``min_k``,
    ``min_candidates``, ``rule``,
    ``min_decrease``, ``at_cap`` (what ``min_perplexity`` does when its optimum is at the cap:
    "cap" keeps it, "knee" / "elbow" take the curve's knee / elbow instead; :func:`choose_k`),
    ``selection_iterations``, ``iterations`` and the shared priors. ``selection`` records
    ``rule_k`` (the rule's own K), ``at_cap`` and ``cap_fallback`` (true when it was replaced).
    An optimum at an end of the grid extends the search past it (halving the smallest K
    down to ``min_k``, doubling the largest up to documents / ``docs_per_topic`` and
    ``max_k``); ``selection["at_grid_edge"]`` says the optimum still lies at that bound.
    ``patient_ids`` is aligned with ``corpus``.

    ``checkpoint``: a scratch folder (the stage's ``.partial-*``). Each K's scores and the
    final model with its document mixtures are kept there as they finish, and reused by
    a rerun after an interruption, so a killed paper-scale run loses one fit at most.
    """
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    n_docs = len(corpus)
    grid = k_grid(params["k_grid"], n_docs, params["docs_per_topic"], params.get("max_k"),
                  int(params.get("min_k", 2)), int(params.get("min_candidates", 1)))
    if not grid:
        raise ValueError(f"{name}: {n_docs} documents are too few for a topic model")
    heldout_mask = split_by_patient(patient_ids, params["heldout_fraction"], params["seed"])
    selection: dict[str, Any] = {
        "level": name, "rule": params["rule"], "n_docs": n_docs,
        "n_train": int((~heldout_mask).sum()), "n_heldout": int(heldout_mask.sum()),
        "k": [], "perplexity": [], "npmi": [], "seconds": [],
    }
    min_k = int(params.get("min_k", 2))
    # A small corpus's grid may reach past documents / docs_per_topic (at least min_candidates K).
    cap = max(k_cap(n_docs, params["docs_per_topic"], params.get("max_k")), max(grid))
    selection.update(grid=list(grid), k_bounds=[min_k, cap])
    searched = len(grid) > 1 and heldout_mask.any() and (~heldout_mask).any()
    if searched:
        train = corpus.subset(~heldout_mask)
        heldout_tokens: list[list[str]] | None = None
        encoded: HeldOut | None = None
        encoded_for: list[str] | None = None
        iterations = int(params["selection_iterations"])
        curve: dict[int, dict[str, Any]] = {}
        with progress() if show_progress else _null() as bar:
            def score(k: int) -> dict[str, Any]:
                nonlocal heldout_tokens, encoded, encoded_for
                saved = checkpoint / f"k{k}.json" if checkpoint else None
                if saved is not None and saved.exists():
                    return json.loads(saved.read_text("utf-8"))
                if heldout_tokens is None:
                    heldout_tokens = _heldout_tokens(corpus, heldout_mask, params)
                task = bar.add_task(f"{name} K={k}", total=iterations) if bar else None
                t0 = time.perf_counter()
                model = _model(params, k, iterations).fit(
                    train, callback=(lambda done, total, t=task: bar.update(t, completed=done)) if bar else None)
                if encoded is None or encoded_for != model.vocabulary_:
                    encoded = HeldOut.from_tokens(heldout_tokens, model.vocabulary_)
                    encoded_for = model.vocabulary_
                scores = {
                    "perplexity": completion_perplexity(model.topic_word_, model.alpha_, encoded,
                                                        iterations=params["fold_in_iterations"]),
                    "npmi": npmi_coherence(model.topic_word_, encoded, params["coherence_top_n"])[0],
                    "seconds": round(time.perf_counter() - t0, 3),
                    "n_scored_tokens": encoded.n_scored,
                }
                if saved is not None:
                    write_json(saved, scores)
                return scores

            for k in grid:
                curve[k] = score(k)
            # An optimum at an end of the grid is a truncated search, not a chosen K: go on
            # past that end (halving down to min_k, doubling up to the cap), one selection
            # fit per step, until the optimum is interior or the bound is reached.
            while True:
                ks = sorted(curve)
                k = edge_step(ks, [curve[x]["perplexity"] for x in ks], params["rule"],
                              params.get("min_decrease", 0.0), min_k, cap)
                if k is None or k in curve:
                    break
                curve[k] = score(k)
        for k in sorted(curve):
            selection["k"].append(k)
            for key in ("perplexity", "npmi", "seconds"):
                selection[key].append(curve[k][key])
            selection["n_scored_tokens"] = curve[k]["n_scored_tokens"]
        at_cap = params.get("at_cap", "cap")
        best = choose_k(selection["k"], selection["perplexity"], params["rule"], params.get("min_decrease", 0.0))
        chosen = choose_k(selection["k"], selection["perplexity"], params["rule"], params.get("min_decrease", 0.0),
                          at_cap, cap)
        # The paper's choice is kept beside the one taken, so the curve can be read both ways.
        selection.update(at_cap=at_cap, rule_k=int(best), cap_fallback=bool(chosen != best))
    else:
        chosen = grid[0]
    selection["chosen_k"] = int(chosen)
    selection["searched"] = bool(searched)
    selection["at_grid_edge"] = bool(searched) and at_grid_edge(selection["k"], chosen, min_k, cap)

    final_model = checkpoint / f"final_k{chosen}.bin" if checkpoint else None
    final_theta = checkpoint / f"final_k{chosen}_theta.parquet" if checkpoint else None
    if final_model is not None and final_model.exists() and final_theta.exists():
        final = TopicModel.load(final_model, params["workers"], params.get("infer_iterations", 100))
        theta = read_theta(final_theta)
    else:
        iterations = int(params["iterations"])
        with progress() if show_progress else _null() as bar:
            task = bar.add_task(f"{name} final K={chosen}", total=iterations) if bar else None
            final = _model(params, chosen, iterations).fit(
                corpus, callback=(lambda done, total: bar.update(task, completed=done)) if bar else None)
        theta = final.doc_topic_
        if final_model is not None:
            write_theta(final_theta, theta)  # mixtures first: the model file marks the pair done
            final.save(final_model)
    if show_progress:
        console.print(f"{name}: K = {chosen} (searched {selection['k'] or grid})")
        if selection.get("cap_fallback"):
            console.print(f"{name}: lowest perplexity at the cap K = {selection['rule_k']} (the curve is still "
                          f"falling there); the {selection['at_cap']} K = {chosen} is taken (at_cap)")
        if selection["at_grid_edge"]:
            console.print(f"[yellow]{name}[/]: {edge_warning(selection)}")
    return LevelFit(final, theta, selection)


def edge_warning(selection: dict[str, Any]) -> str:
    """Why a level's K is not a real choice: its optimum sits at a bound of the search."""
    k = selection["chosen_k"]
    low = k == min(selection["k"])
    bound = "min_k" if low else "the cap (documents / docs_per_topic, max_k)"
    return (f"the {selection['rule']} optimum K = {k} is the {'smallest' if low else 'largest'} K searched, "
            f"at {bound}; the best K may lie beyond it")


def _heldout_tokens(corpus: ParquetCorpus, heldout_mask: np.ndarray, params: dict[str, Any]) -> list[list[str]]:
    heldout_rows = np.flatnonzero(heldout_mask)
    if params.get("max_heldout_docs") and len(heldout_rows) > params["max_heldout_docs"]:
        # A fixed random sample of held-out documents bounds the scoring cost.
        rng = np.random.default_rng(params["seed"])
        heldout_rows = np.sort(rng.choice(heldout_rows, params["max_heldout_docs"], replace=False))
    return list(corpus.subset(heldout_rows))


def write_theta(path: str | Path, theta: np.ndarray) -> Path:
    """Document mixtures (n, K) as a one-column Parquet table of fixed-size lists (atomic)."""
    import pyarrow as pa

    n, k = theta.shape
    values = pa.array(np.ascontiguousarray(theta, dtype=np.float32).reshape(-1))
    return write_parquet(path, pa.table({"theta": pa.FixedSizeListArray.from_arrays(values, k)}))


def read_theta(path: str | Path) -> np.ndarray:
    """The (n, K) float32 array written by :func:`write_theta`."""
    import pyarrow.parquet as pq

    column = pq.read_table(path).column("theta").combine_chunks()
    k = column.type.list_size
    return np.asarray(column.flatten(), dtype=np.float32).reshape(-1, k)


class _null:
    """Stands in for a progress bar when none is wanted (``with ... as bar`` gives None)."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def group_rows(labels: np.ndarray) -> dict[int, np.ndarray]:
    """{label: sorted row numbers} for an int label array."""
    order = np.argsort(labels, kind="stable")
    out: dict[int, np.ndarray] = {}
    for label, rows in itertools.groupby(order, key=lambda i: int(labels[i])):
        out[label] = np.fromiter(rows, dtype=np.int64)
    return out
