"""The vectors stage: ``pacsmine vectors --workspace WS``.

Reads extract/sentences.parquet and extract/terms.parquet (and the ``vectors.extra_corpus``
folder, if set), trains word2vec (corpus.py, train.py) and writes, under WS/vectors/
(docs/workspace.md):

    vectors.safetensors   (V, vector_size) float32, tensor "vectors"
    vocabulary.parquet    word, count, index, is_term, code, name
    terms.parquet         code, name, source, token, mentions, index (one row per concept)
    vectors.bin           the same vectors in word2vec's C binary format (or vectors.txt)
    pca.png               Figure 6: chosen words in 2-D PCA
    metrics.json          vocabulary size, corpus size, term coverage
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..progress import console, progress
from ..workspace import StageContext, StageResult, Workspace, atomic_path
from .corpus import (PhraseJoiner, TokenCorpus, extra_sentence_tokens, report_sentence_tokens, vector_tokenizer,
                     write_token_file)
from .keyed import VECTORS_FILE, VOCABULARY_FILE, save_matrix
from .plot import chosen_words, pca_figure
from .train import scaled_epochs, train_word2vec, word2vec_params

__all__ = ["run_vectors", "check_vectors_config", "term_table"]

_FORMATS = {"binary": "vectors.bin", "text": "vectors.txt", "none": None}


def check_vectors_config(cfg: dict[str, Any]) -> Path | None:
    """Check ``config["vectors"]`` (a ValueError naming the key); returns the extra corpus
    folder (resolved) or None."""
    word2vec_params(cfg)
    if cfg["word2vec_format"] not in _FORMATS:
        raise ValueError(f"vectors.word2vec_format must be one of {', '.join(_FORMATS)}, "
                         f"not {cfg['word2vec_format']!r}")
    if int(cfg["batch_size"]) < 1 or int(cfg["plot"]["max_words"]) < 1 or int(cfg["evaluation"]["k"]) < 1:
        raise ValueError("vectors.batch_size, vectors.plot.max_words and vectors.evaluation.k must be at least 1")
    if not cfg["extra_corpus"]:
        return None
    folder = Path(cfg["extra_corpus"]).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(f"vectors.extra_corpus: {cfg['extra_corpus']} is not a folder")
    return folder


def run_vectors(ws: Workspace, config: dict[str, Any], force: bool = False) -> StageResult:
    """Run the vectors stage on ``ws`` (``config`` is the full config; uses ``config["vectors"]``
    and extract's tokenisation and sentence settings, which are part of the stage's config)."""
    cfg = config["vectors"]
    extra = check_vectors_config(cfg)
    vector_tokenizer(config["extract"]["tokens"], cfg["status_tokens"])  # bad status rules fail here
    stage_config = {**cfg, "extract_tokens": config["extract"]["tokens"],
                    "extract_sentences": config["extract"]["sentences"]}
    inputs = {"extract": ws.fingerprint("extract")}
    return ws.run_stage("vectors", stage_config, inputs, lambda ctx: _body(ctx, stage_config, extra), force=force,
                        files=[extra] if extra is not None else [])


# --------------------------------------------------------------------------- tables


def term_table(terms_path: str | Path, tokenizer, batch_size: int) -> pa.Table:
    """One row per concept of extract/terms.parquet: ``code``, ``name``, ``source`` (its most
    frequent), ``token`` (the name's term token, "" if it has no word), ``mentions`` int64;
    sorted by code."""
    mentions: Counter[tuple[str, str]] = Counter()
    sources: dict[tuple[str, str], Counter[str]] = {}
    for batch in pq.ParquetFile(terms_path).iter_batches(batch_size=batch_size, columns=["code", "name", "source"]):
        for code, name, source in zip(*(batch.column(i).to_pylist() for i in range(3))):
            key = (code or "", name or "")
            mentions[key] += 1
            sources.setdefault(key, Counter())[source or ""] += 1
    keys = sorted(mentions)
    return pa.table({
        "code": pa.array([c for c, _ in keys], pa.string()),
        "name": pa.array([n for _, n in keys], pa.string()),
        "source": pa.array([min(sources[k].items(), key=lambda i: (-i[1], i[0]))[0] for k in keys], pa.string()),
        "token": pa.array([tokenizer.term_token(n) for _, n in keys], pa.string()),
        "mentions": pa.array([mentions[k] for k in keys], pa.int64()),
    })


def _phrases(terms_path: Path, batch_size: int) -> list[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    for batch in pq.ParquetFile(terms_path).iter_batches(batch_size=batch_size, columns=["text", "name"]):
        seen.update(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()))
    return sorted((t or "", n or "") for t, n in seen)


def _coverage(terms: pa.Table, has_vector: np.ndarray, frequent: np.ndarray, source: str | None) -> dict[str, Any]:
    """Concepts (of one ``source``, or all) with a vector, and with a token seen at least
    min_count times (``frequent``): counts, shares, and the share of mentions covered."""
    rows = np.ones(terms.num_rows, bool) if source is None else np.array(
        [s == source for s in terms.column("source").to_pylist()], bool)
    mentions = np.asarray(terms.column("mentions").to_numpy(), np.int64)
    total, covered, common = int(rows.sum()), int((rows & has_vector).sum()), int((rows & frequent).sum())
    weight = int(mentions[rows].sum())
    return {"concepts": total, "with_vector": covered, "share": covered / total if total else None,
            "mention_share": float(mentions[rows & has_vector].sum() / weight) if weight else None,
            "at_min_count": common, "share_at_min_count": common / total if total else None}


# --------------------------------------------------------------------------- the stage


def _token_file(ctx: StageContext, name: str, make) -> Path:
    """A tokenised corpus in the scratch folder, written once (a rerun after a kill reuses it)."""
    path = ctx.partial_dir / f"{name}.parquet"
    if not path.exists():
        with atomic_path(path) as tmp:
            make(tmp)
    return path


def _body(ctx: StageContext, cfg: dict[str, Any], extra: Path | None) -> dict[str, Any]:
    ws = ctx.workspace
    sentences_path = ws.require("extract", "sentences.parquet")
    terms_path = ws.require("extract", "terms.parquet")
    batch = int(cfg["batch_size"])
    tokenizer = vector_tokenizer(cfg["extract_tokens"], cfg["status_tokens"])

    t0 = time.perf_counter()
    files = [_token_file(ctx, "reports", lambda tmp: write_token_file(
        tmp, report_sentence_tokens(sentences_path, terms_path, tokenizer, batch), batch))]
    if extra is not None:
        from ..nlp.sentences import SentenceSplitter

        joiner = PhraseJoiner(tokenizer, _phrases(terms_path, batch))
        splitter = SentenceSplitter.from_config(cfg["extract_sentences"])
        files.append(_token_file(ctx, "extra", lambda tmp: write_token_file(
            tmp, extra_sentence_tokens(extra, joiner, splitter), batch)))
    sizes = {}
    for name, path in zip(("reports", "extra"), files):
        sizes[name] = {"sentences": 0, "tokens": 0}
        for part in pq.ParquetFile(path).iter_batches(batch_size=batch, columns=["tokens"]):
            sizes[name]["sentences"] += part.num_rows
            sizes[name]["tokens"] += int(pc.sum(pc.list_value_length(part.column(0))).as_py() or 0)
    tokenise_seconds = time.perf_counter() - t0
    console.print("vectors: " + "; ".join(f"{n}: {s['sentences']} sentences, {s['tokens']} tokens"
                                          for n, s in sizes.items()))

    terms = term_table(terms_path, tokenizer, batch)
    term_tokens = frozenset(t for t in terms.column("token").to_pylist() if t)
    params = word2vec_params(cfg)
    params["epochs"] = scaled_epochs(sum(s["tokens"] for s in sizes.values()), cfg["epochs"],
                                     cfg["min_trained_words"], cfg["max_epochs"])
    t1 = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("word2vec epochs", total=params["epochs"])
        model = train_word2vec(TokenCorpus(files, batch), params, term_tokens if cfg["keep_terms"] else frozenset(),
                               on_epoch=lambda _: bar.advance(task))
    train_seconds = time.perf_counter() - t1
    wv = model.wv
    words = list(wv.index_to_key)
    matrix = np.asarray(wv.vectors, dtype=np.float32)
    counts = np.array([wv.get_vecattr(w, "count") for w in words], dtype=np.int64)
    index = {w: i for i, w in enumerate(words)}

    # ---- the concept -> token table, and each term token's most mentioned concept
    rows = [index.get(t) if t else None for t in terms.column("token").to_pylist()]
    terms = terms.append_column("index", pa.array(rows, pa.int32()))
    ctx.write_parquet("terms.parquet", terms)
    concept_of: dict[str, tuple[int, str, str]] = {}
    for code, name, token, n in zip(terms.column("code").to_pylist(), terms.column("name").to_pylist(),
                                    terms.column("token").to_pylist(), terms.column("mentions").to_pylist()):
        if token and (token not in concept_of or n > concept_of[token][0]):
            concept_of[token] = (n, code, name)
    ctx.write_parquet(VOCABULARY_FILE, pa.table({
        "word": pa.array(words, pa.string()),
        "count": pa.array(counts, pa.int64()),
        "index": pa.array(np.arange(len(words)), pa.int32()),
        "is_term": pa.array([w in concept_of for w in words], pa.bool_()),
        "code": pa.array([concept_of[w][1] if w in concept_of else None for w in words], pa.string()),
        "name": pa.array([concept_of[w][2] if w in concept_of else None for w in words], pa.string()),
    }))
    with atomic_path(ctx.path(VECTORS_FILE)) as tmp:
        save_matrix(tmp, matrix)
    interop = _FORMATS[cfg["word2vec_format"]]
    if interop is not None:
        with atomic_path(ctx.path(interop)) as tmp:
            wv.save_word2vec_format(str(tmp), binary=cfg["word2vec_format"] == "binary")

    # ---- Figure 6
    plot = cfg["plot"]
    by_frequency = sorted(term_tokens & set(words), key=lambda w: (-int(counts[index[w]]), w))
    shown = chosen_words(plot["words"], set(words), by_frequency, int(plot["max_words"]))
    pca_figure(ctx.path("pca.png"), shown, matrix[[index[w] for w in shown]] if shown else matrix[:0],
               [w in term_tokens for w in shown], f"word vectors: {len(shown)} words, 2-D PCA (Figure 6)")

    # ---- corpus figures
    has_vector = np.array([r is not None for r in rows], bool)
    frequent = np.array([r is not None and int(counts[r]) >= int(cfg["min_count"]) for r in rows], bool)
    term_counts = [int(counts[index[t]]) for t in term_tokens if t in index]
    below = sum(1 for c in term_counts if c < int(cfg["min_count"]))
    ctx.counts.update({"vocabulary": len(words), "sentences": sum(s["sentences"] for s in sizes.values()),
                       "concepts": terms.num_rows})
    console.print(f"vectors: {len(words)} words x {matrix.shape[1]}; {int(has_vector.sum())} of {terms.num_rows} "
                  f"term concepts have a vector ({below} term tokens below min_count, kept)")
    return {
        "vocabulary": len(words),
        "dimensions": int(matrix.shape[1]),
        "sentences": {n: s["sentences"] for n, s in sizes.items()},
        "tokens": {n: s["tokens"] for n, s in sizes.items()},
        "coverage": {
            "all_terms": _coverage(terms, has_vector, frequent, None),
            "do_2015": _coverage(terms, has_vector, frequent, "do_2015"),
            "term_tokens": len(term_tokens),
            "term_tokens_below_min_count": below,
        },
        "plotted_words": shown,
        "seconds": {"tokenise": round(tokenise_seconds, 3), "train": round(train_seconds, 3)},
        "word2vec": {k: v for k, v in params.items()},
    }
