"""Speed of the topic engine: tomotopy against gensim, and the paper's scale.

Part 1 (default): one corpus, split 80/20 by patient; tomotopy's LDA (collapsed Gibbs)
and gensim's LdaMulticore (online variational Bayes) each make ``--iterations`` passes
over the training documents with ``--workers`` workers. Printed: wall time of each fit
and the held-out perplexity by document completion, computed by pacsmine's own
estimator (pacsmine.topics.selection) from each engine's topic-word matrix and prior,
so the two numbers are comparable. With --truth (synthetic corpus) the true model's
perplexity is printed too.

The corpus is a phantom export's reports tokenised like extract (``--phantom``, needs
pacsmine.phantom.generate) or, by default, documents drawn from a known LDA model.

Part 2 (``--paper-scale``): a 780K-document corpus (streamed to Parquet, never held in
memory as Python lists), 80 topics, 200 iterations: wall time and peak RSS
(goal: under an hour and 8 GB on 2 cores).

    .venv/bin/python bench/topics_speed.py --docs 2000 --topics 20 --iterations 100
    .venv/bin/python bench/topics_speed.py --paper-scale
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_rss_gb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def phantom_corpus(n_docs: int, seed: int) -> tuple[list[list[str]], list[str]]:
    """Reports of a phantom export, tokenised and filtered like the extract stage."""
    import csv
    import shutil

    from pacsmine.config import load_config
    from pacsmine.nlp.tokens import Tokenizer, Vocabulary
    from pacsmine.phantom import generate

    config = load_config()
    out = Path(tempfile.mkdtemp(prefix="phantom-bench-"))
    generate(out, reports=n_docs, seed=seed, config=config["phantom"], images=False)
    # Python's csv reader: report texts hold line breaks; rows the phantom breaks on
    # purpose (no text, no patient) are skipped as ingest would reject them.
    texts, patients = [], []
    with open(out / "reports.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("text") and row.get("patient_id"):
                texts.append(row["text"])
                patients.append(row["patient_id"])
    shutil.rmtree(out, ignore_errors=True)
    tokenizer = Tokenizer.from_config(config["extract"]["tokens"])
    tokens = [tokenizer.tokenize(t) for t in texts]
    vocabulary = Vocabulary.from_config(config["extract"]["vocabulary"]).fit(tokens)
    docs = [vocabulary.transform(t) for t in tokens]
    return docs, patients


def part1(args) -> None:
    from pacsmine.topics.lda import TopicModel
    from pacsmine.topics.selection import HeldOut, completion_perplexity, split_by_patient
    from pacsmine.topics.synthetic import lda_corpus

    t0 = time.perf_counter()
    phi = None
    if args.phantom:
        docs, patients = phantom_corpus(args.docs, args.seed)
        source = f"phantom export, {len(docs)} reports"
    else:
        docs, _, phi = lda_corpus(args.docs, args.topics, vocab_size=args.vocab, doc_length=args.doc_length,
                                  seed=args.seed)
        patients = [str(i // 2) for i in range(len(docs))]
        source = f"synthetic LDA corpus, {len(docs)} docs, {args.topics} true topics, V={args.vocab}"
    heldout_mask = split_by_patient(patients, 0.2, args.seed)
    train = [d for d, h in zip(docs, heldout_mask) if not h]
    test = [d for d, h in zip(docs, heldout_mask) if h]
    n_tokens = sum(map(len, train))
    print(f"corpus: {source}; train {len(train)} docs / {n_tokens} tokens, held out {len(test)} "
          f"(built in {time.perf_counter() - t0:.1f} s); K={args.topics}, {args.iterations} passes, "
          f"{args.workers} workers; load average {os.getloadavg()[0]:.2f}")

    t0 = time.perf_counter()
    tm = TopicModel(k=args.topics, iterations=args.iterations, workers=args.workers, seed=args.seed).fit(train)
    t_tomotopy = time.perf_counter() - t0
    held = HeldOut.from_tokens(test, tm.vocabulary_)
    p_tomotopy = completion_perplexity(tm.topic_word_, tm.alpha_, held)
    print(f"tomotopy LDA        : {t_tomotopy:8.1f} s   held-out perplexity {p_tomotopy:9.2f}")

    if phi is not None:
        vocab = [f"w{i}" for i in range(phi.shape[1])]
        p_true = completion_perplexity(phi, 0.1, HeldOut.from_tokens(test, vocab))
        print(f"true model          :            held-out perplexity {p_true:9.2f}  "
              f"(tomotopy {100 * (p_tomotopy / p_true - 1):+.1f} %)")

    if args.skip_gensim:
        return
    from gensim.corpora import Dictionary
    from gensim.models import LdaMulticore

    t0 = time.perf_counter()
    dictionary = Dictionary(train)
    bow = [dictionary.doc2bow(d) for d in train]
    lda = LdaMulticore(corpus=bow, id2word=dictionary, num_topics=args.topics, passes=args.iterations,
                       workers=args.workers, random_state=args.seed, chunksize=2000, iterations=50)
    t_gensim = time.perf_counter() - t0
    vocab = [dictionary[i] for i in range(len(dictionary))]
    p_gensim = completion_perplexity(lda.get_topics(), np.asarray(lda.alpha), HeldOut.from_tokens(test, vocab))
    print(f"gensim LdaMulticore : {t_gensim:8.1f} s   held-out perplexity {p_gensim:9.2f}")
    if phi is not None:
        print(f"                      (gensim {100 * (p_gensim / p_true - 1):+.1f} % from the true model)")


def part2(args) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pacsmine.topics.lda import ParquetCorpus, TopicModel
    from pacsmine.topics.synthetic import lda_corpus

    path = Path(args.scratch or tempfile.mkdtemp(prefix="topics-paper-scale-")) / "documents.parquet"
    t0 = time.perf_counter()
    if not path.exists():
        with pq.ParquetWriter(path, pa.schema([("tokens", pa.list_(pa.string()))]), compression="zstd") as writer:
            chunk = 20_000
            for lo in range(0, args.paper_docs, chunk):
                n = min(chunk, args.paper_docs - lo)
                docs, _, _ = lda_corpus(n, 80, vocab_size=args.vocab, doc_length=args.doc_length, seed=lo)
                writer.write_table(pa.table({"tokens": pa.array(docs, pa.list_(pa.string()))}))
    print(f"paper scale: {args.paper_docs} documents in {path} (made in {time.perf_counter() - t0:.0f} s), "
          f"K=80, {args.paper_iterations} iterations, {args.workers} workers")
    t0 = time.perf_counter()
    model = TopicModel(k=80, iterations=args.paper_iterations, workers=args.workers, seed=args.seed)
    model.fit(ParquetCorpus(path))
    print(f"tomotopy fit: {time.perf_counter() - t0:.0f} s wall, peak RSS {peak_rss_gb():.2f} GB, "
          f"{model.n_tokens_} tokens")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--doc-length", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--phantom", action="store_true", help="use a phantom export's reports")
    parser.add_argument("--skip-gensim", action="store_true")
    parser.add_argument("--paper-scale", action="store_true", help="run part 2 (long)")
    parser.add_argument("--paper-docs", type=int, default=780_000)
    parser.add_argument("--paper-iterations", type=int, default=200)
    parser.add_argument("--scratch", help="folder for the paper-scale corpus (kept for reruns)")
    args = parser.parse_args()
    if args.paper_scale:
        part2(args)
    else:
        part1(args)


if __name__ == "__main__":
    main()
