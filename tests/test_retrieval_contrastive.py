"""ContrastiveModel: mean word vectors, symmetric InfoNCE by hand, training from a classifier,
resume and round trip. A small AlexNet-style net at 32 px keeps it fast."""

import math

import numpy as np
import pytest
import torch

from pacsmine.retrieval.contrastive import ContrastiveModel, info_nce, mean_vectors

SETTINGS = dict(epochs=2, batch_size=8, optimizer="adamw", lr=1e-3, momentum=0.9, weight_decay=1e-4,
                head_lr_multiplier=10.0, bn_momentum=0.1, seed=2, flip=False, embed_dim=8, hidden=16,
                init_temperature=0.07)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def parent(tiny_level1_classifier):
    folder, model, images = tiny_level1_classifier
    texts = np.random.default_rng(1).normal(size=(16, 6)).astype(np.float32)
    return folder, images, texts


def make(parent, **changes):
    return ContrastiveModel.from_parent(parent[0], dict(SETTINGS, **changes), text_dim=6, device="cpu")


def test_mean_vectors_skip_unknown_words():
    matrix = np.array([[1.0, 0.0], [3.0, 2.0]], dtype=np.float32)
    out = mean_vectors([["a", "b", "zzz"], ["zzz"], ["b"]], {"a": 0, "b": 1}, matrix)
    assert out.tolist() == [[2.0, 1.0], [0.0, 0.0], [3.0, 2.0]]


def test_info_nce_by_hand():
    # two pairs, embeddings orthogonal unit vectors matching row for row; scale 1 (log 0)
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = info_nce(img, img.clone(), torch.tensor(0.0))
    # logits [[1, 0], [0, 1]]: each row's CE = -log(e / (e + 1)) = log(1 + e^-1), both directions alike
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-1)))
    # swapped texts: CE = log(1 + e)
    assert float(info_nce(img, img.flip(0), torch.tensor(0.0))) == pytest.approx(math.log(1 + math.e))
    # the scale is clamped at 100
    big = float(info_nce(img, img.flip(0), torch.tensor(10.0)))
    assert big == pytest.approx(math.log(1 + math.exp(100)), rel=1e-6)


def test_trains_from_the_classifier_resumes_and_round_trips(parent, tmp_path):
    _, images, texts = parent
    whole = make(parent).fit(images, texts, images[:6], texts[:6])
    assert len(whole.history_) == 2 and whole.best_epoch_ in (1, 2)
    # temperature learned: it moved from its start
    assert whole.history_[-1]["temperature"] != pytest.approx(0.07, abs=1e-9)
    emb_i, emb_t = whole.encode_images(images[:5]), whole.encode_texts(texts[:5])
    assert emb_i.shape == emb_t.shape == (5, 8)
    assert np.allclose(np.linalg.norm(emb_i, axis=1), 1, atol=1e-5)

    def stop(epoch, batch):
        if epoch == 2 and batch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make(parent).fit(images, texts, images[:6], texts[:6], checkpoint=tmp_path / "ck", on_batch=stop)
    resumed = make(parent).fit(images, texts, images[:6], texts[:6], checkpoint=tmp_path / "ck")
    assert resumed.resumed_from_ == 1
    assert np.array_equal(resumed.encode_images(images[:5]), emb_i)
    assert np.array_equal(resumed.encode_texts(texts[:5]), emb_t)
    loaded = ContrastiveModel.load(whole.save(tmp_path / "model"))
    assert np.array_equal(loaded.encode_images(images[:5]), emb_i)
    assert np.allclose(loaded.encode_texts(texts[:5]), emb_t)
