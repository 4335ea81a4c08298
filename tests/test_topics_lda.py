import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pacsmine.topics.lda import ParquetCorpus, TopicModel
from pacsmine.topics.synthetic import lda_corpus


@pytest.fixture(scope="module")
def corpus():
    docs, theta, phi = lda_corpus(150, 3, vocab_size=120, doc_length=50, alpha=0.05, eta=0.05, seed=2)
    return docs, theta


def _model(**kw):
    params = dict(k=3, iterations=60, seed=4, workers=1)
    params.update(kw)
    return TopicModel(**params)


def test_constructor_only_stores_parameters():
    model = _model()
    assert model.k == 3 and not hasattr(model, "model_")
    with pytest.raises(RuntimeError):
        model.transform([["w1"]])


def test_fit_learns_normalised_topics_and_document_mixtures(corpus):
    docs, true_theta = corpus
    model = _model().fit(docs + [[]])  # an empty document keeps its row
    assert model.topic_word_.shape == (3, len(model.vocabulary_))
    assert np.allclose(model.topic_word_.sum(axis=1), 1.0)
    assert model.doc_topic_.shape == (151, 3) and model.doc_topic_.dtype == np.float32
    assert np.allclose(model.doc_topic_.sum(axis=1), 1.0, atol=1e-4)
    assert np.allclose(model.doc_topic_[-1], model.alpha_ / model.alpha_.sum(), atol=1e-6)
    # The learned clusters match the true dominant topics up to a relabelling.
    learned = model.doc_topic_[:-1].argmax(axis=1)
    truth = true_theta.argmax(axis=1)
    agreement = sum(np.bincount(learned[truth == t], minlength=3).max() for t in range(3)) / len(truth)
    assert agreement > 0.85


def test_one_worker_and_a_seed_repeat_exactly(corpus):
    docs, _ = corpus
    a = _model().fit(docs)
    b = _model().fit(docs)
    assert np.array_equal(a.topic_word_, b.topic_word_)


def test_transform_agrees_with_training_mixtures(corpus):
    docs, _ = corpus
    model = _model().fit(docs)
    theta = model.transform(docs[:40], batch_size=16)
    assert theta.shape == (40, 3)
    assert (theta.argmax(axis=1) == model.doc_topic_[:40].argmax(axis=1)).mean() > 0.9


def test_save_and_load_round_trip(tmp_path, corpus):
    docs, _ = corpus
    model = _model().fit(docs)
    path = model.save(tmp_path / "m" / "model.bin")
    loaded = TopicModel.load(path, workers=1)
    assert loaded.k_ == 3 and loaded.vocabulary_ == model.vocabulary_
    assert np.allclose(loaded.topic_word_, model.topic_word_)
    assert loaded.top_words(0, 5) == model.top_words(0, 5)
    assert (loaded.transform(docs[:20]).argmax(1) == model.transform(docs[:20]).argmax(1)).mean() > 0.9
    assert not list((tmp_path / "m").glob(".*tmp"))


def test_parquet_corpus_streams_and_subsets_across_batches(tmp_path):
    docs = [[f"t{i}", f"u{i}"] if i % 7 else [] for i in range(50)]
    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"tokens": pa.array(docs, pa.list_(pa.string()))}), path)
    corpus = ParquetCorpus(path, batch_size=8)
    assert len(corpus) == 50 and list(corpus) == docs
    assert list(corpus) == docs  # re-iterable
    rows = np.array([3, 8, 9, 31, 49])
    sub = corpus.subset(rows)
    assert len(sub) == 5 and list(sub) == [docs[i] for i in rows]
    assert list(sub.subset(np.array([True, False, False, True, False]))) == [docs[3], docs[31]]
