import numpy as np

from pacsmine.topics.synthetic import lda_corpus, write_extract_stage
from pacsmine.workspace import Workspace


def test_lda_corpus_is_reproducible_and_shaped():
    docs, theta, phi = lda_corpus(20, 3, vocab_size=30, doc_length=10, seed=9)
    again, _, _ = lda_corpus(20, 3, vocab_size=30, doc_length=10, seed=9)
    assert docs == again and len(docs) == 20 and all(len(d) >= 2 for d in docs)
    assert theta.shape == (20, 3) and phi.shape == (3, 30)
    assert np.allclose(phi.sum(axis=1), 1.0)
    assert {w for d in docs for w in d} <= {f"w{i}" for i in range(30)}


def test_write_extract_stage_writes_a_finished_stage(tmp_path):
    import pyarrow.parquet as pq

    ws = Workspace(tmp_path)
    truth = write_extract_stage(ws, n_reports=10, n_types=2, images_per_report=2)
    assert ws.has("extract")
    docs = pq.read_table(tmp_path / "extract" / "documents.parquet")
    images = pq.read_table(tmp_path / "extract" / "key_images.parquet")
    assert docs.num_rows == 10 and images.num_rows == 20
    assert set(truth["case_type"]) == set(docs.column("accession").to_pylist())
    assert all((tmp_path / p).exists() for p in images.column("png").to_pylist())
