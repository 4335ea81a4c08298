"""Shared fixtures.

Tests that read the real public data in ../shared/data skip cleanly where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("PACSMINE_NO_PROGRESS", "1")

# Property tests draw new examples on every run here; under CI (CI=true) they draw the same
# ones, so a submission's result does not depend on the draw. A failure found here is pinned
# with @example in its test.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PACSMINE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent")
    return path


@pytest.fixture
def config():
    from pacsmine.config import load_config

    return load_config()


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a test module (two threads on a loaded 2-core machine were several
    times slower than one); restored afterwards. Use with ``pytest.mark.usefixtures``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_level1_classifier(tmp_path_factory):
    """A fitted and saved level-1 topic classifier to start the retrieval models from: an
    AlexNet-style net at width 0.125, 32 px crops of 36 px, 3 classes, one epoch on 16 random
    images. Returns ``(folder, model, images)``, images uint8 (16, 1, 36, 36)."""
    import numpy as np

    from pacsmine.images.classifier import TopicClassifier

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (16, 1, 36, 36), dtype=np.uint8)
    labels = np.arange(16) % 3
    model = TopicClassifier("alexnet", ["0", "1", "2"], level="level1", in_channels=1, pretrained=False, resize=36,
                            crop=32, flip=False, epochs=1, batch_size=8, optimizer="sgd", lr=0.01, momentum=0.9,
                            weight_decay=5e-4, head_lr_multiplier=10.0, seed=1, device="cpu",
                            network={"width": 0.125, "dropout": 0.5}, bn_momentum=0.1)
    model.fit(images, labels, images[:4], labels[:4], show_progress=False)
    folder = model.save(tmp_path_factory.mktemp("parent") / "level1")
    return folder, model, images
