"""The ``extract`` stage: reports -> sentences, key-image references, key images,
disease terms, bigrams, documents, vocabulary and corpus statistics.

Streamed and parallel, in two passes (memory stays flat as the corpus grows):

1. ``ingest/reports.parquet`` is read in record batches of ``extract.batch_size``
   reports; each batch goes to a worker process (``run.workers``, 0 = all cores)
   that splits sections and sentences, parses and links references, annotates
   disease terms with negation (part B's :class:`~pacsmine.nlp.terms.TermAnnotator`,
   built once per worker), makes key-image bigrams and raw tokens, and writes
   part files into the stage's ``.partial-<fp>/`` folder, with its document/term
   frequency counts and statistics as JSON. A part whose ``.done`` marker exists is
   not redone, so an interrupted run resumes.
2. The counts are merged, the :class:`~pacsmine.nlp.tokens.Vocabulary` is fitted on
   them, and the parts are streamed into the final tables, the vocabulary applied
   to documents and key-image contexts on the way.
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections import Counter
from itertools import chain, compress
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..progress import console, progress
from ..workspace import StageContext, StageIncomplete, StageResult, Workspace, atomic_path
from .link import LINKED, ImageIndex

__all__ = ["run_extract", "ReportNLP", "SCHEMAS", "new_rows"]

_STR, _I32 = pa.string(), pa.int32()

SCHEMAS: dict[str, pa.Schema] = {
    "sentences": pa.schema(
        [("accession", _STR), ("sentence_index", _I32), ("section", _STR), ("text", _STR), ("start", _I32), ("end", _I32)]
    ),
    "references": pa.schema(
        [
            ("accession", _STR), ("sentence_index", _I32), ("series", _I32), ("instance", _I32),
            ("span", _STR), ("image_id", _STR), ("status", _STR),
        ]
    ),
    "key_images": pa.schema(
        [
            ("image_id", _STR), ("accession", _STR), ("patient_id", _STR), ("series", _I32), ("instance", _I32),
            ("png", _STR), ("sentence_index", _I32), ("sentence", _STR), ("prev_sentence", _STR),
            ("next_sentence", _STR), ("tokens", pa.list_(_STR)),
        ]
    ),
    "documents": pa.schema(
        [("accession", _STR), ("patient_id", _STR), ("modality", _STR), ("tokens", pa.list_(_STR)), ("n_tokens", _I32)]
    ),
    "terms": pa.schema(
        [
            ("accession", _STR), ("sentence_index", _I32), ("start", _I32), ("end", _I32), ("text", _STR),
            ("source", _STR), ("code", _STR), ("name", _STR), ("status", _STR), ("negated", pa.bool_()), ("uncertain", pa.bool_()), ("historical", pa.bool_()),
        ]
    ),
    "bigrams": pa.schema(
        [("image_id", _STR), ("accession", _STR), ("first", _STR), ("second", _STR), ("first_code", _STR), ("second_code", _STR)]
    ),
}
# Parts carry raw (unfiltered) tokens; pass 2 applies the vocabulary.
_PART_TABLES = ("sentences", "references", "key_images", "documents", "terms", "bigrams")
_HAS_DIGIT = re.compile(r"\d").search
# Distinct sentences whose words, tokens, mentions and references a worker keeps, per
# generation (two at most; about 1.2 kB each, so at most ~25 MB a worker). With 10,000 a
# generation, 58% of phantom sentences are hits (65.8% with no bound at all).
_SENTENCE_CACHE_MAX = 10_000
# Section segments (a report's text between two headers) whose sentence spans and results
# are kept, per generation: 39% of phantom segments and 20% of IU X-ray reports (one
# segment each) repeat whole, and a hit skips the sentence splitter too.
_SEGMENT_CACHE_MAX = 5_000
# The cache pays only where sentences repeat: kept results cost memory and time (about 9%
# where nothing repeats). In "auto" mode a worker remembers its recent sentences (two
# generations of up to _CACHE_SEEN_MAX text hashes, as the cache's: cheap, cache or not)
# and, after every _CACHE_PROBE sentences, keeps results for the next ones only if at least
# _CACHE_MIN_HIT_RATE of those were repeats; otherwise it computes afresh and empties the cache.
# While the cache is off it counts one report in _CACHE_OFF_SAMPLE.
_CACHE_PROBE = 200
_CACHE_MIN_HIT_RATE = 0.15
_CACHE_SEEN_MAX = 10_000
_CACHE_OFF_SAMPLE = 8
_CACHE_MODES = ("auto", "on", "off")


def _no_mentions(sentence: str) -> list:
    return []


_NONE: tuple = ()  # no references (shared: only read)


def new_rows() -> dict[str, dict[str, list]]:
    """Empty part rows: table name -> column name -> values (columns, not row dicts:
    no dict per row on the hot path, and ``pa.Table.from_pydict`` is cheap)."""
    return {name: {col: [] for col in SCHEMAS[name].names} for name in _PART_TABLES}


class ReportNLP:
    """Everything done to one report, built once per worker from the full config.

    ``process(accession, patient_id, modality, text, rows, stats)`` appends the
    report's rows (raw tokens) to ``rows`` (:func:`new_rows`: table name -> column ->
    list) and adds to the statistics accumulator ``stats`` (a
    :class:`pacsmine.nlp.stats.CorpusCounts`).
    """

    def __init__(self, config: dict[str, Any], index: ImageIndex | None = None, annotate: bool = True):
        from .refs import ReferenceParser
        from .sections import SectionSplitter
        from .sentences import SentenceSplitter
        from .tokens import Tokenizer

        cfg = config["extract"]
        self.sections = SectionSplitter.from_config(cfg["sections"])
        self.splitter = SentenceSplitter.from_config(cfg["sentences"])
        self.parser = ReferenceParser.from_config(cfg["references"])
        self.tokenizer = Tokenizer.from_config(cfg["tokens"])
        self.index = index if index is not None else ImageIndex.from_parquet(None)
        self.annotator = None
        self.include_negated = False
        if annotate:
            from .terms import TermAnnotator

            terms_cfg = cfg["terms"]
            self.annotator = TermAnnotator.from_config(terms_cfg)
            self.include_negated = bool(terms_cfg.get("bigrams", {}).get("include_negated", False))
        self._annotate = self.annotator.annotate if self.annotator is not None else _no_mentions
        if self.annotator is not None and cfg["terms"]["negation"]["normal_mentions"]:
            from .negation import NormalMentions

            self._annotate = NormalMentions(self.annotator)
        from .sentences import report_spans

        self._report_spans = report_spans
        self.set_sentence_cache("auto")

    def set_sentence_cache(self, mode: str) -> None:
        """Choose how sentences' results are kept, and empty the cache.

        ``mode``: "auto" (kept while at least ``_CACHE_MIN_HIT_RATE`` of the sentences are
        repeats, measured as the reports come: see :meth:`_probe`), "on" (always kept) or
        "off" (never). The rows written are the same in every mode; only the speed differs.
        """
        if mode not in _CACHE_MODES:
            raise ValueError(f"sentence cache mode must be one of {', '.join(_CACHE_MODES)}, not {mode!r}")
        self.cache_mode = mode
        # sentence text -> (words, tokens, mentions, references), two generations
        self._cache: dict[str, tuple] = {}
        self._cache_old: dict[str, tuple] = {}
        # segment text -> (sentence spans in it, sentence texts, their results), two generations
        self._segments: dict[str, tuple] = {}
        self._segments_old: dict[str, tuple] = {}
        # "auto" starts with the cache (text that repeats gains from its first reports on);
        # where text does not repeat, the first probe switches it off after a few reports.
        self._use_cache = mode != "off"
        self._seen: set[int] = set()  # "auto": hashes of the recent sentences, two generations
        self._seen_old: set[int] = set()
        self._probe_seen = self._probe_hits = 0  # "auto": sentences and repeats this probe
        self._probe_skip = 0  # "auto", cache off: reports left until the next one counted

    def process(self, accession, patient_id, modality, text, rows, stats) -> None:
        text = text or ""
        if self._use_cache:
            spans, texts, found = self._cached_report(text)
        else:
            spans = self._report_spans(text, self.sections, self.splitter)
            texts = [text[a:b] for _, a, b in spans]
            found = self._compute(texts)
        if self.cache_mode == "auto":
            if self._use_cache:
                self._probe(texts)
            else:
                # With the cache off, one report in _CACHE_OFF_SAMPLE is counted: the count
                # (a set of hashes touched at random) cost ~3% where nothing repeats; text
                # that starts to repeat still shows its repeats in the sample.
                self._probe_skip -= 1
                if self._probe_skip <= 0:
                    self._probe_skip = _CACHE_OFF_SAMPLE
                    self._probe(texts)
        n = len(spans)
        out = rows["sentences"]
        out["accession"] += [accession] * n
        out["sentence_index"] += range(n)
        # Columns of the spans and of the results, each one pass in C (tuples, only read).
        sections, starts, ends = zip(*spans) if n else ((), (), ())
        words, sentence_tokens, mentions, references = zip(*found) if n else ((), (), (), ())
        out["section"] += sections
        out["text"] += texts
        out["start"] += starts
        out["end"] += ends
        counts = list(map(len, mentions))
        if self.annotator is not None and any(counts):
            # The report's mentions in sentence order, then one pass per column (list
            # comprehensions: faster here than one attrgetter and zip over ~16 mentions).
            terms = rows["terms"]
            ms = list(chain.from_iterable(mentions))
            terms["accession"] += [accession] * len(ms)
            terms["sentence_index"] += [i for i in compress(range(n), mentions) for _ in mentions[i]]
            terms["start"] += [m.start for m in ms]
            terms["end"] += [m.end for m in ms]
            terms["text"] += [m.text for m in ms]
            terms["source"] += [m.source for m in ms]
            terms["code"] += [m.code for m in ms]
            terms["name"] += [m.name for m in ms]
            terms["status"] += [m.status for m in ms]
            terms["negated"] += [bool(m.negated) for m in ms]
            terms["uncertain"] += [bool(m.uncertain) for m in ms]
            terms["historical"] += [bool(m.historical) for m in ms]
        if any(references):
            if self.parser.other_exam_sections:  # "COMPARISON: CT 01/02/2020 series 3 image 45"
                other = self.parser.other_exam_sections
                references = [_NONE if sec in other else r for sec, r in zip(sections, references)]
            self._references(accession, patient_id, modality, texts, found, mentions, references, rows, stats)
        # The document's tokens are its sentences' (section headers are not words of the report).
        # Tokenizer.filter works word by word, so the sentences' filtered words, joined, are
        # the filtered words of the document.
        doc_tokens = list(chain.from_iterable(sentence_tokens))
        docs = rows["documents"]
        docs["accession"].append(accession)
        docs["patient_id"].append(patient_id)
        docs["modality"].append(modality)
        docs["tokens"].append(doc_tokens)
        docs["n_tokens"].append(len(doc_tokens))
        # A sentence cites an image when it holds a reference: the lists themselves say so.
        stats.add_report(modality, words, doc_tokens, counts, references)

    def _references(self, accession, patient_id, modality, texts, found, mentions, references, rows, stats) -> None:
        """Rows of a report's references (``references``: per sentence, after the
        ``other_exam_sections`` rule), and its key images and their bigrams."""
        n = len(texts)
        cited: dict[int, list] = {}
        refs = rows["references"]
        link = self.index.link
        for i in compress(range(n), references):
            context_series = None
            for ref in references[i]:
                status, image = link(accession, ref.series, ref.image, context_series)
                if ref.series is not None:
                    context_series = ref.series
                refs["accession"].append(accession)
                refs["sentence_index"].append(i)
                refs["series"].append(ref.series)
                refs["instance"].append(ref.image)
                refs["span"].append(ref.text)
                refs["image_id"].append(image.image_id if image else None)
                refs["status"].append(status)
                if status == LINKED:
                    images = cited.setdefault(i, [])
                    if all(prev.image_id != image.image_id for prev in images):
                        images.append(image)
        for i, images in cited.items():
            prev_s = texts[i - 1] if i > 0 else None
            next_s = texts[i + 1] if i + 1 < n else None
            # Tokens of previous + referring + next sentence (the vocabulary comes in pass 2).
            tokens = [t for j in range(max(0, i - 1), min(n, i + 2)) for t in found[j][1]]
            window = [mentions[i - 1] if i > 0 else None, mentions[i], mentions[i + 1] if i + 1 < n else None]
            pairs = self._bigrams(window)
            keys, bigrams = rows["key_images"], rows["bigrams"]
            for image in images:
                for col, value in (
                    ("image_id", image.image_id), ("accession", accession),
                    ("patient_id", image.patient_id if image.patient_id is not None else patient_id),
                    ("series", image.series), ("instance", image.instance), ("png", image.png), ("sentence_index", i),
                    ("sentence", texts[i]), ("prev_sentence", prev_s), ("next_sentence", next_s), ("tokens", tokens),
                ):
                    keys[col].append(value)
                for a, b in pairs:
                    for col, value in (
                        ("image_id", image.image_id), ("accession", accession), ("first", a.name), ("second", b.name),
                        ("first_code", a.code), ("second_code", b.code),
                    ):
                        bigrams[col].append(value)
                stats.add_key_image(modality or image.modality)

    def _compute(self, texts: list[str]) -> list[tuple]:
        """``[(words, tokens, mentions, references), ...]`` of each sentence, computed afresh."""
        words_of, keep, annotate, parse = self.tokenizer.words, self.tokenizer.filter, self._annotate, self.parser.parse
        # A reference needs a number: the grammar runs only on sentences with a digit.
        return [(w, self._tokens(t, w, m) if m else keep(w), m, parse(t) if _HAS_DIGIT(t) else _NONE)
                for t in texts for w, m in ((words_of(t), annotate(t)),)]

    def _cached_report(self, text: str) -> tuple[list, list[str], list[tuple]]:
        """``(spans, sentence texts, results)`` of a report, as ``report_spans`` and
        :meth:`_compute` give them, through the segment and sentence caches.

        Reports repeat sentences ("The heart is normal in size.") and whole sections: a
        segment's sentence spans depend on its text alone (the splitter looks nowhere
        outside the segment), and a sentence's words, mentions (assertion set) and
        references on the sentence's text alone, so both are kept per text. The cached
        lists are shared between reports and only ever read."""
        spans: list[tuple[str | None, int, int]] = []
        texts: list[str] = []
        found: list[tuple] = []
        segments, split = self._segments, self.splitter.spans
        for section, _, a, b in self.sections.split_tuples(text):
            seg = text[a:b]
            hit = segments.get(seg)
            if hit is None:
                hit = self._segments_old.get(seg)
                if hit is None:
                    rel = split(seg)
                    seg_texts = [seg[s:e] for s, e in rel]
                    hit = (rel, seg_texts, self._sentence_results(seg_texts))
                if len(segments) >= _SEGMENT_CACHE_MAX:  # two generations, as for sentences
                    self._segments_old, self._segments = segments, {}
                    segments = self._segments
                segments[seg] = hit
            rel, seg_texts, seg_found = hit
            spans += [(section, a + s, a + e) for s, e in rel]
            texts += seg_texts
            found += seg_found
        return spans, texts, found

    def _probe(self, texts: list[str]) -> None:
        """"auto": count a report's sentences and their repeats (texts seen before, or twice
        in the report); after every ``_CACHE_PROBE`` sentences, switch the cache on or off."""
        seen, old = self._seen, self._seen_old
        if len(seen) >= _CACHE_SEEN_MAX:
            # Two generations, so that a full set does not forget every text at once.
            self._seen_old, self._seen = seen, set()
            seen, old = self._seen, self._seen_old
        known = len(seen)
        # Hashes, not the texts: holding every sentence string alive cost auto ~4% where
        # nothing repeats (a collision only miscounts a repeat: the rows never change).
        hashes = list(map(hash, texts))
        seen.update(hashes)  # in C: the texts new to the set are the set's growth
        hits = len(texts) - (len(seen) - known)
        if old:
            # Texts new to this generation but known to the last one are repeats too; they
            # leave the old set, so each counts once.
            known = len(old)
            old.difference_update(hashes)
            hits += known - len(old)
        self._probe_hits += hits
        self._probe_seen += len(texts)
        if self._probe_seen >= _CACHE_PROBE:
            use = self._probe_hits >= _CACHE_MIN_HIT_RATE * self._probe_seen
            if not use and self._use_cache:
                # Too few repeats to pay for the lookups and the memory: compute afresh.
                self._cache, self._cache_old, self._segments, self._segments_old = {}, {}, {}, {}
            self._use_cache = use
            self._probe_seen = self._probe_hits = 0

    def _sentence_results(self, texts: list[str]) -> list[tuple]:
        """As :meth:`_compute`, through the per-sentence cache."""
        found = list(map(self._cache.get, texts))
        if None in found:
            words_of, keep, annotate, parse = self.tokenizer.words, self.tokenizer.filter, self._annotate, self.parser.parse
            for i, hit in enumerate(found):
                if hit is None:
                    cache = self._cache
                    if len(cache) >= _SENTENCE_CACHE_MAX:
                        # Two generations, so memory stays bounded: a full cache becomes the
                        # old one, and what is used again moves back into the new one.
                        self._cache_old, self._cache = cache, {}
                        cache = self._cache
                    t = texts[i]
                    hit = self._cache_old.get(t)
                    if hit is None:
                        w = words_of(t)
                        m = annotate(t)
                        hit = (w, self._tokens(t, w, m) if m else keep(w), m, parse(t) if _HAS_DIGIT(t) else _NONE)
                    found[i] = cache[t] = hit
        return found

    def _tokens(self, text: str, words: list[str], mentions: list) -> list[str]:
        """A sentence's tokens: each term mention one token (``tokens.terms_as_tokens``),
        from the mentions' start, end, name and assertion status only (``tokens.status_tokens``)."""
        if not self.tokenizer.terms_as_tokens:
            return self.tokenizer.filter(words)
        return self.tokenizer.tokenize_terms(text, [(m.start, m.end, m.name, m.status) for m in mentions])

    def _bigrams(self, window):
        if self.annotator is None:
            return []
        from .bigrams import key_image_bigrams

        return key_image_bigrams(window, include_negated=self.include_negated)


# --------------------------------------------------------------------------- workers

_WORKER: dict[str, Any] = {}


def _init_worker(config: dict[str, Any], annotate: bool, tune_gc: bool = True) -> None:
    # The image index is inherited from the parent (fork); the NLP is built once here.
    _WORKER["nlp"] = ReportNLP(config, _WORKER.get("index"), annotate=annotate)
    _WORKER["config"] = config
    if tune_gc:
        _tune_gc()


def _tune_gc() -> tuple[int, int, int]:
    """Make the cyclic garbage collector cheap for report batches; returns the old thresholds.

    The phrase table, the image index and the rules are long-lived: frozen, the collector
    never scans them again. A batch allocates many small lists and tuples and no cycles,
    so the youngest generation is collected 70 times less often (about 10% faster)."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return old


def _process_batch(task: tuple[int, dict[str, list], str]) -> dict[str, Any]:
    """Process one record batch; write its part files; return its summary."""
    from .stats import CorpusCounts

    batch_no, columns, partial = task
    nlp: ReportNLP = _WORKER["nlp"]
    rows = new_rows()
    stats = CorpusCounts(stopwords_for_stats())
    for acc, pid, mod, text in zip(columns["accession"], columns["patient_id"], columns["modality"], columns["text"]):
        nlp.process(acc, pid, mod, text, rows, stats)
    part = Path(partial)
    for name in _PART_TABLES:
        table = pa.Table.from_pydict(rows[name], schema=SCHEMAS[name])
        # Parts are Arrow IPC files: written and read back in pass 2 at memory speed (no
        # Parquet encoding or compression twice; only the final tables are Parquet).
        with atomic_path(part / f"{name}-{batch_no:06d}.arrow") as tmp:
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
    summary = stats.to_json()
    with atomic_path(part / f"counts-{batch_no:06d}.json") as tmp:
        tmp.write_text(json.dumps(summary), "utf-8")
    # The marker is written last: a part is done only when all of its files are.
    with atomic_path(part / f"done-{batch_no:06d}") as tmp:
        tmp.write_text("ok", "utf-8")
    return {"batch": batch_no, "reports": len(columns["accession"])}


def stopwords_for_stats() -> frozenset[str]:
    from .tokens import stopwords

    return stopwords()


def _done_batches(partial: Path) -> set[int]:
    """Batches whose marker and part files all exist (a folder left by an older version,
    with other part files, is simply redone)."""
    done = set()
    for marker in partial.glob("done-*"):
        i = int(marker.name.split("-")[1])
        if all((partial / f"{name}-{i:06d}.arrow").exists() for name in _PART_TABLES):
            done.add(i)
    return done


def _batches(path: Path, batch_size: int) -> Iterator[tuple[int, dict[str, list]]]:
    # A buffered stream reads a row group page by page: the parent's memory stays flat
    # even when reports.parquet is one huge row group (whole column chunks otherwise).
    pf = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
    names = pf.schema_arrow.names
    wanted = [c for c in ("accession", "patient_id", "modality", "text") if c in names]
    for i, batch in enumerate(pf.iter_batches(batch_size=batch_size, columns=wanted)):
        cols = batch.to_pydict()
        n = batch.num_rows
        for c in ("patient_id", "modality"):
            cols.setdefault(c, [None] * n)
        yield i, cols


def _workers(config: dict[str, Any]) -> int:
    n = int(config.get("run", {}).get("workers", 0) or 0)
    return n if n > 0 else (os.cpu_count() or 1)


# --------------------------------------------------------------------------- the stage


def run_extract(ws: Workspace, config: dict[str, Any], force: bool = False) -> StageResult:
    """Run the ``extract`` stage on ``ws`` (reads ``ingest/``; writes ``extract/``).

    ``config`` is the full configuration; the stage's fingerprint covers
    ``config["extract"]`` and the ingest fingerprint (not ``run.workers``: the number
    of processes never changes a result) and the content of the data files that
    ``extract.terms`` names (vocabularies, ontology, stop-list, rules).
    """
    from .vocabulary.layers import data_files

    inputs = {"ingest": ws.fingerprint("ingest")}
    return ws.run_stage("extract", config["extract"], inputs, lambda ctx: _extract(ctx, ws, config), force=force,
                        files=data_files(config["extract"].get("terms", {})))


def _extract(ctx: StageContext, ws: Workspace, config: dict[str, Any], annotate: bool = True) -> dict[str, Any]:
    from .stats import CorpusCounts, image_counts, write_stats

    cfg = config["extract"]
    reports = ws.require("ingest", "reports.parquet")
    images_path = ws.stage_dir("ingest") / "images.parquet"
    index = ImageIndex.from_parquet(images_path if images_path.exists() else None)
    _WORKER["index"] = index
    n_reports = pq.ParquetFile(reports).metadata.num_rows
    batch_size = int(cfg["batch_size"])
    n_batches = max(1, -(-n_reports // batch_size))
    workers = min(_workers(config), n_batches)
    partial = ctx.partial_dir
    done = _done_batches(partial)
    if done:
        console.print(f"extract: resuming, {len(done)} of {n_batches} batches already done")

    # ---- pass 1: parts
    with progress() as bar:
        task = bar.add_task("extract: reports", total=n_reports)
        todo = ((i, cols, str(partial)) for i, cols in _batches(reports, batch_size))
        if workers <= 1:
            _init_worker(config, annotate, tune_gc=False)
            old_gc = _tune_gc()
            try:
                for i, cols, part in todo:
                    if i not in done:
                        _process_batch((i, cols, part))
                    bar.advance(task, len(cols["accession"]))
            finally:  # this is the caller's process: its collector is left as it was
                gc.set_threshold(*old_gc)
                gc.unfreeze()
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            from concurrent.futures.process import BrokenProcessPool

            ctx_mp = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            # An executor, not multiprocessing.Pool: a worker killed mid-batch (out of memory,
            # kill -9) breaks the executor and ends the run, where a Pool waits for its lost
            # result forever. The finished batches stay for the rerun.
            try:
                with ProcessPoolExecutor(workers, mp_context=ctx_mp, initializer=_init_worker,
                                         initargs=(config, annotate)) as pool:
                    pending: list = []
                    window = 2 * workers  # bounded: never more batches in memory than this
                    for i, cols, part in todo:
                        if i in done:
                            bar.advance(task, len(cols["accession"]))
                            continue
                        if len(pending) >= window:
                            bar.advance(task, pending.pop(0).result()["reports"])
                        pending.append(pool.submit(_process_batch, (i, cols, part)))
                    for res in pending:
                        bar.advance(task, res.result()["reports"])
            except BrokenProcessPool:
                raise StageIncomplete(
                    f"extract: a worker process died (killed, or out of memory?); "
                    f"{len(_done_batches(partial))} of {n_batches} batches are done and kept: "
                    "rerun the same command to resume") from None

    # ---- pass 2: vocabulary from merged counts, then stream parts into tables
    from .tokens import Vocabulary

    parts = sorted(_done_batches(partial))
    # Every batch planned must be there: one lost (its scratch removed under this run) would
    # otherwise end in a finished manifest with part of the reports.
    ctx.check_complete("batches", range(-(-n_reports // batch_size)), parts)
    totals = CorpusCounts(stopwords_for_stats())
    for i in parts:
        totals.merge_json(json.loads((partial / f"counts-{i:06d}.json").read_text("utf-8")))
    vocab = Vocabulary.from_config(cfg["vocabulary"]).fit_counts(
        totals.doc_freq, totals.term_freq, totals.documents, terms=_term_tokens(cfg, partial, parts))
    ctx.write_parquet("vocabulary.parquet", vocab.to_table())

    with progress() as bar:
        task = bar.add_task("extract: tables", total=len(_PART_TABLES) * len(parts))
        # The tables are independent and Arrow reads, compresses and writes without the GIL:
        # one thread per core instead of one table after another.
        from concurrent.futures import ThreadPoolExecutor

        def concat(name: str) -> int:
            return _concat(ctx, name, [partial / f"{name}-{i:06d}.arrow" for i in parts], vocab, bar, task)

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(_PART_TABLES)))) as threads:
            counts = dict(zip(_PART_TABLES, threads.map(concat, _PART_TABLES)))

    ref_counts = _reference_counts(ctx.dir / "references.parquet")
    term_counts = _term_counts(ctx.dir / "terms.parquet")
    images = image_counts(images_path if images_path.exists() else None)
    stats = write_stats(ctx, totals, vocab, images, counts, top=int(cfg["stats"]["top_words"]))
    metrics = {
        "reports": n_reports,
        "sentences": counts["sentences"],
        "references": ref_counts,
        "link_rate": ref_counts["link_rate"],
        "key_images": counts["key_images"],
        "documents_kept": counts["documents"],
        "vocabulary_kept": len(vocab.kept_),
        "terms": term_counts,
        "bigrams": counts["bigrams"],
        "annotated": annotate,
        "workers": workers,
        "words_per_sentence": stats["table4"],
    }
    ctx.counts.update({"reports": n_reports, "sentences": counts["sentences"], "key_images": counts["key_images"],
                       "references": ref_counts["total"], "terms": term_counts["mentions"]})
    console.print(
        f"extract: {n_reports} reports, {counts['sentences']} sentences, {ref_counts['total']} references "
        f"({ref_counts['linked']} linked, {ref_counts['unmatched']} unmatched, {ref_counts['ambiguous']} ambiguous), "
        f"{term_counts['mentions']} term mentions"
    )
    return metrics


def _term_tokens(cfg: dict[str, Any], partial: Path, parts: list[int]) -> set[str]:
    """The term tokens of the parts' mentions (their names and statuses as
    :meth:`Tokenizer.mention_token` writes them: ``pneumothorax``, ``no_pneumothorax``): the
    tokens no vocabulary rule drops. Empty without ``terms_as_tokens``."""
    from .tokens import Tokenizer

    tokenizer = Tokenizer.from_config(cfg["tokens"])
    if not tokenizer.terms_as_tokens:
        return set()
    pairs: set[tuple[str, str]] = set()
    for i in parts:
        with pa.OSFile(str(partial / f"terms-{i:06d}.arrow")) as source:
            table = pa.ipc.open_file(source).read_all().select(["name", "status"])
        unique = table.group_by(["name", "status"]).aggregate([]).to_pydict()
        pairs.update((n, s) for n, s in zip(unique["name"], unique["status"]) if n)
    return {tokenizer.mention_token(n, s) for n, s in pairs} - {""}


def _concat(ctx: StageContext, name: str, parts: list[Path], vocab, bar, task) -> int:
    """Stream the part files of one table into ``<name>.parquet``; returns its row count.

    Documents and key images get the vocabulary applied here; documents left with
    fewer than ``min_doc_tokens`` terms are dropped.
    """
    schema = SCHEMAS[name]
    rows = 0
    with atomic_path(ctx.path(f"{name}.parquet")) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for path in parts:
                with pa.OSFile(str(path)) as source:
                    table = pa.ipc.open_file(source).read_all()
                if name in ("documents", "key_images") and table.num_rows:
                    table = _apply_vocabulary(table, vocab, drop_short=(name == "documents"))
                if table.num_rows:
                    writer.write_table(table)
                rows += table.num_rows
                bar.advance(task)
    return rows


def _apply_vocabulary(table: pa.Table, vocab, drop_short: bool) -> pa.Table:
    """Keep the vocabulary's terms in the ``tokens`` lists (in order), in Arrow: the kept
    set is looked up in C over the flattened lists, no Python list per document."""
    import numpy as np
    import pyarrow.compute as pc

    tokens = table.column("tokens").combine_chunks()
    flat = pc.list_flatten(tokens)
    keep = pc.is_in(flat, value_set=_kept_array(vocab))
    parents = pc.list_parent_indices(tokens).filter(keep).to_numpy()
    lengths = np.bincount(parents, minlength=len(tokens)).astype(np.int32)
    offsets = np.zeros(len(tokens) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    kept = pa.ListArray.from_arrays(pa.array(offsets), flat.filter(keep).cast(_STR))
    table = table.set_column(table.schema.get_field_index("tokens"), "tokens", kept)
    if not drop_short:
        return table
    table = table.set_column(table.schema.get_field_index("n_tokens"), "n_tokens", pa.array(lengths, _I32))
    return table.filter(pa.array(lengths >= vocab.min_doc_tokens))


_KEPT: dict[int, tuple[Any, pa.Array]] = {}


def _kept_array(vocab) -> pa.Array:
    # The kept terms as an Arrow array, built once per fitted vocabulary (pass 2 applies it to every part).
    cached = _KEPT.get(id(vocab))
    if cached is None or cached[0] is not vocab:
        _KEPT.clear()
        cached = _KEPT[id(vocab)] = (vocab, pa.array(sorted(vocab.kept_), _STR))
    return cached[1]


def _reference_counts(path: Path) -> dict[str, Any]:
    table = pq.read_table(path, columns=["status", "accession", "series", "instance", "span"])
    status = Counter(table.column("status").to_pylist())
    total = table.num_rows
    linked = status.get("linked", 0)
    import pyarrow.compute as pc

    unmatched = table.filter(pc.not_equal(table.column("status"), "linked")).slice(0, 20).to_pylist()
    return {
        "total": total,
        "linked": linked,
        "unmatched": status.get("unmatched", 0),
        "ambiguous": status.get("ambiguous", 0),
        "series_written": total - table.column("series").null_count,
        "link_rate": round(linked / total, 4) if total else None,
        "unmatched_examples": unmatched,
    }


def _term_counts(path: Path) -> dict[str, Any]:
    import pyarrow.compute as pc

    table = pq.read_table(path, columns=["source", "code", "negated", "uncertain", "historical"])
    def true(col: str) -> int:
        return int(pc.sum(table.column(col)).as_py() or 0) if table.num_rows else 0
    return {
        "mentions": table.num_rows,
        "negated": true("negated"),
        "uncertain": true("uncertain"),
        "historical": true("historical"),
        "distinct_codes": len(set(table.column("code").to_pylist())),
        "by_source": {k: v for k, v in sorted(Counter(table.column("source").to_pylist()).items())},
    }
