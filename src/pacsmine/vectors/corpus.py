"""The training text of the word vectors: token lists, one per sentence, streamed.

1. Report sentences (extract/sentences.parquet) are tokenised by extract's rules
   (:class:`pacsmine.nlp.tokens.Tokenizer`, ``extract.tokens``), each term mention of
   extract/terms.parquet (character span in its sentence, concept name) becoming ONE
   token: its name's words joined by ``_``, lower case ("Small pleural effusions" ->
   ``small``, ``pleural_effusion``). The two tables are read side by side in record
   batches (a merge on accession and sentence index; extract writes both in report
   order), so memory holds one batch of sentences and their terms, never the corpus.
2. Sentences of an optional extra folder of plain-text files are split with extract's
   sentence splitter; a word sequence that extract matched as a term somewhere in the
   reports (its mention text, :class:`PhraseJoiner`) becomes that term's token there too.
3. The token lists are written once to a Parquet file (list<string>, one row a sentence)
   in the stage's scratch folder, and :class:`TokenCorpus` streams that file in record
   batches on every pass gensim makes: tokenising once, reading N times, holding one
   batch. (10^6 reports are ~10^7 sentences: held as Python lists, several GB.)
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..nlp.tokens import Tokenizer

__all__ = ["vector_tokenizer", "report_sentence_tokens", "PhraseJoiner", "extra_sentence_tokens",
           "write_token_file", "TokenCorpus"]

_TOKENS = pa.schema([("tokens", pa.list_(pa.string()))])


def vector_tokenizer(tokens_config: dict[str, Any], status_tokens: dict[str, str]) -> Tokenizer:
    """Extract's :class:`Tokenizer` (``extract.tokens``) with the mention rules of
    ``vectors.status_tokens`` instead of extract's."""
    return Tokenizer(**{**tokens_config, "status_tokens": dict(status_tokens)})


def _term_rows(terms_path: Path, batch_size: int) -> Iterator[tuple[str, int, int, int, str, str]]:
    columns = ["accession", "sentence_index", "start", "end", "name", "status"]
    for batch in pq.ParquetFile(terms_path).iter_batches(batch_size=batch_size, columns=columns):
        yield from zip(*(batch.column(i).to_pylist() for i in range(len(columns))))


def report_sentence_tokens(sentences_path: str | Path, terms_path: str | Path, tokenizer: Tokenizer,
                           batch_size: int) -> Iterator[list[str]]:
    """Token lists of the report sentences in table order, each term span one token.

    ``sentences_path``: extract/sentences.parquet (``accession``, ``sentence_index``,
    ``text``); ``terms_path``: extract/terms.parquet (``start``, ``end``: character offsets
    in the sentence; ``name``; ``status``). The terms of a sentence must follow the order of
    the sentences (extract writes both report by report); a term row left unmatched at the
    end is a ValueError (the tables are out of step: rerun extract). Yields one list per
    sentence, empty lists included.
    """
    terms = _term_rows(Path(terms_path), batch_size)
    pending = next(terms, None)
    for batch in pq.ParquetFile(sentences_path).iter_batches(
            batch_size=batch_size, columns=["accession", "sentence_index", "text"]):
        for accession, index, text in zip(*(batch.column(i).to_pylist() for i in range(3))):
            spans = []
            while pending is not None and pending[0] == accession and pending[1] == index:
                spans.append((pending[2], pending[3], pending[4], pending[5]))
                pending = next(terms, None)
            yield tokenizer.tokenize_terms(text or "", spans)
    if pending is not None:
        raise ValueError(f"{terms_path}: the term in sentence {pending[1]} of report {pending[0]} does not follow "
                         f"the order of {sentences_path} (or names a sentence it lacks); "
                         "rerun `pacsmine extract --force`")


class PhraseJoiner:
    """Joins the word sequences that extract matched as terms into the terms' tokens.

    ``phrases``: (mention text as written, concept name) pairs, e.g. ("pleural effusions",
    "Pleural Effusion"). A sentence's words (the tokenizer's pattern, lower case) are read
    left to right; the longest word sequence that is a known mention text becomes the
    term's token (``pleural_effusion``); a text written for several names takes its most
    frequent one. Other words pass through the tokenizer's length and stemming rules.
    """

    def __init__(self, tokenizer: Tokenizer, phrases: Iterable[tuple[str, str]]):
        self.tokenizer = tokenizer
        votes: dict[tuple[str, ...], Counter[str]] = {}
        for text, name in phrases:
            words = tuple(tokenizer.words(text or ""))
            token = tokenizer.term_token(name or "") or "_".join(words)
            if words and token:
                votes.setdefault(words, Counter())[token] += 1
        self.phrases = {words: counts.most_common(1)[0][0] for words, counts in votes.items()}
        self.longest = max((len(w) for w in self.phrases), default=0)

    def tokens(self, text: str) -> list[str]:
        """Tokens of one sentence, known term phrases joined."""
        words = self.tokenizer.words(text)
        out: list[str] = []
        plain: list[str] = []
        i = 0
        while i < len(words):
            for length in range(min(self.longest, len(words) - i), 0, -1):
                token = self.phrases.get(tuple(words[i:i + length]))
                if token is not None:
                    out += self.tokenizer.filter(plain)
                    plain = []
                    out.append(token)
                    i += length
                    break
            else:
                plain.append(words[i])
                i += 1
        return out + self.tokenizer.filter(plain)


def extra_sentence_tokens(folder: str | Path, joiner: PhraseJoiner, splitter) -> Iterator[list[str]]:
    """Token lists of every sentence of the ``*.txt`` files under ``folder`` (sorted by
    path, UTF-8 with bad bytes replaced), split by ``splitter``
    (:class:`pacsmine.nlp.sentences.SentenceSplitter`)."""
    for path in sorted(Path(folder).rglob("*.txt")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        text = path.read_text("utf-8", errors="replace")
        for start, end in splitter.spans(text):
            yield joiner.tokens(text[start:end])


def write_token_file(path: str | Path, sentences: Iterable[list[str]], batch_size: int) -> dict[str, int]:
    """Write the non-empty token lists to ``path`` (Parquet, column ``tokens``), one batch
    of ``batch_size`` lists at a time; returns ``{"sentences", "empty", "tokens"}``."""
    counts = {"sentences": 0, "empty": 0, "tokens": 0}
    buffer: list[list[str]] = []
    with pq.ParquetWriter(path, _TOKENS, compression="zstd") as writer:
        def flush() -> None:
            writer.write_table(pa.table({"tokens": pa.array(buffer, pa.list_(pa.string()))}, schema=_TOKENS))
            buffer.clear()

        for tokens in sentences:
            if not tokens:
                counts["empty"] += 1
                continue
            buffer.append(tokens)
            counts["sentences"] += 1
            counts["tokens"] += len(tokens)
            if len(buffer) >= batch_size:
                flush()
        if buffer or counts["sentences"] == 0:
            flush()
    return counts


class TokenCorpus:
    """A re-iterable stream of token lists from the ``tokens`` column of Parquet files
    (gensim reads it once to count words and once per epoch). Holds one record batch."""

    def __init__(self, paths: Iterable[str | Path], batch_size: int):
        self.paths = [Path(p) for p in paths]
        self.batch_size = int(batch_size)

    def __len__(self) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.paths)

    def __iter__(self) -> Iterator[list[str]]:
        for path in self.paths:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=self.batch_size, columns=["tokens"]):
                yield from batch.column(0).to_pylist()
