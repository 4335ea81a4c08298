"""The bigram regression CNN (Shin et al., CVPR 2015, Section 5.3): from a key image to two
word vectors side by side (512 values).

``BigramRegressor.from_parent(folder, settings, loss=..., device=...)`` starts from a finished
topic classifier of the images stage (pacsmine.images.classifier.TopicClassifier, the paper's
level-1 model): the same network, its weights copied, its head replaced by a ``2 * dim``-unit
output (``networks.replace_head``). Input size, crop, channels and network options are the
parent's (the weights were trained on them); the training settings are
``[retrieval.regression]``'s. ``fit(images, targets, val_images, val_targets, checkpoint=folder)``
trains with one of :data:`.losses.LOSSES`; ``predict(images)`` gives the (N, 2 * dim) outputs;
``save``/``load`` as safetensors + JSON.

The training loop is the images stage's, with a regression loss: the parent classifier's
``build`` (weights, BatchNorm momentum), ``make_optimizer`` (head at ``lr x head_lr_multiplier``),
``_batch`` (seeded random crops, ``tflite_normalise``) and ``_train_epochs`` (the epoch loop,
checkpoints of one folder per finished epoch, ``state.json``; a rerun resumes after the last
finished epoch). An epoch's crops,
order and dropout come from the seed and the epoch number alone, so a resumed run ends with the
weights of an uninterrupted one. The best epoch is the one of highest validation **cosine**
(the mean over images and halves of cos(output half, target half)): one yardstick for both
losses, and the quantity the keywords are found by.

Images: uint8 (N, C, R, R); targets float32 (N, 2 * dim).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..images.checkpoint import load_tensors, save_tensors
from ..images.classifier import TopicClassifier
from ..workspace import write_json
from .losses import LOSSES

__all__ = ["BigramRegressor", "mean_half_cosine"]

MODEL = "model.safetensors"
META = "model.json"
_TRAIN_KEYS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "head_lr_multiplier",
               "bn_momentum", "seed")


def mean_half_cosine(output: np.ndarray, target: np.ndarray) -> float:
    """Mean over rows and the two halves of cos(output half, target half); (N, 2d) arrays."""
    n, d = output.shape
    o = output.reshape(n, 2, d // 2).astype(np.float64)
    t = target.reshape(n, 2, d // 2).astype(np.float64)
    den = np.linalg.norm(o, axis=2) * np.linalg.norm(t, axis=2)
    cos = np.divide((o * t).sum(axis=2), den, out=np.zeros_like(den), where=den > 0)
    return float(cos.mean()) if n else 0.0


class BigramRegressor(TopicClassifier):
    """A topic classifier's network with a ``outputs``-unit regression head (``classes`` are
    the output units' names, "0".."outputs-1"); learned state ends in ``_``."""

    def __init__(self, *, loss: str, outputs: int, parent: dict[str, Any], init_from: str | Path | None,
                 device: str, **train: Any):
        if loss not in LOSSES:
            raise ValueError(f"retrieval.regression loss must be one of {', '.join(LOSSES)}, not {loss!r}")
        super().__init__(parent["arch"], [str(i) for i in range(int(outputs))], level=f"bigram-{loss}",
                         in_channels=parent["in_channels"], pretrained=False, resize=parent["resize"],
                         crop=parent["crop"], flip=bool(train.pop("flip")), device=device,
                         network=parent["network"], init_from=init_from, **train)
        self.loss = loss
        self.outputs = int(outputs)
        self.parent = {k: parent[k] for k in ("arch", "in_channels", "resize", "crop", "network", "level")}

    @classmethod
    def from_parent(cls, folder: str | Path, settings: dict[str, Any], *, loss: str, outputs: int,
                    device: str) -> "BigramRegressor":
        """Fine-tuned from the finished classifier in ``folder`` (model.json + model.safetensors),
        trained with ``settings`` (``[retrieval.regression]``: ``epochs``, ``batch_size``,
        ``optimizer``, ``lr``, ``momentum``, ``weight_decay``, ``head_lr_multiplier``,
        ``bn_momentum``, ``seed``, ``flip``)."""
        parent = json.loads((Path(folder) / META).read_text("utf-8"))
        train = {k: settings[k] for k in _TRAIN_KEYS + ("flip",)}
        return cls(loss=loss, outputs=outputs, parent=parent, init_from=folder, device=device, **train)

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray,
            checkpoint: str | Path | None = None, on_batch: Callable[[int, int], None] | None = None,
            show_progress: bool = True) -> "BigramRegressor":
        """Train on uint8 ``images`` (N, C, R, R) against float32 ``targets`` (N, outputs);
        ``checkpoint``: per-epoch checkpoints, resumed after the last finished epoch.
        ``on_batch(epoch, batch)`` after each step (a test hook that may raise)."""
        import torch

        if images.shape[-1] < self.crop:
            raise ValueError(f"images of {images.shape[-1]} px are smaller than the crop {self.crop}")
        net = self.build()
        opt = self.make_optimizer(net)
        loss_fn = LOSSES[self.loss]
        targets_t = torch.as_tensor(np.asarray(targets, dtype=np.float32))

        def validate() -> dict[str, float]:
            if not len(val_targets):
                return {"val_cosine": 0.0}
            return {"val_cosine": mean_half_cosine(self._outputs(net, val_images), np.asarray(val_targets, np.float32))}

        self.best_epoch_, self.best_val_cosine_, self.history_ = self._train_epochs(
            net, opt, images, lambda x, rows: loss_fn(net(x).float(), targets_t[rows].to(self.device)), validate,
            score="val_cosine", best_key="best_val_cosine", initial_best=-2.0, label=f"{self.arch} {self.loss}",
            checkpoint=checkpoint, on_batch=on_batch)
        self.net_ = net
        return self

    def _outputs(self, net, images: np.ndarray) -> np.ndarray:
        return self._infer(net, net, images, self.outputs)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, outputs) of uint8 images (N, C, R, R), centre-cropped: the two predicted word
        vectors side by side (with equation 2 the output is the logit that regresses the target)."""
        return self._outputs(self.net_, images)

    def save(self, folder: str | Path) -> Path:
        """``model.safetensors`` (best weights) and ``model.json`` (settings, parent, history)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / MODEL, self.net_.state_dict())
        write_json(folder / META, {"loss": self.loss, "outputs": self.outputs, "parent": self.parent,
                                   **{k: getattr(self, k) for k in _TRAIN_KEYS}, "flip": self.flip,
                                   "head_name": self.net_.head_name, "best_epoch": self.best_epoch_,
                                   "best_val_cosine": self.best_val_cosine_, "history": self.history_})
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> "BigramRegressor":
        """A fitted regressor from :meth:`save`'s folder (weights loaded strictly)."""
        import torch

        from ..images.networks import build_network

        meta = json.loads((Path(folder) / META).read_text("utf-8"))
        model = cls(loss=meta["loss"], outputs=meta["outputs"], parent=meta["parent"], init_from=None, device=device,
                    flip=meta["flip"], **{k: meta[k] for k in _TRAIN_KEYS})
        torch.manual_seed(model.seed)
        net = build_network(model.arch, model.outputs, in_channels=model.in_channels, pretrained=False,
                            **model.network)
        net.load_state_dict(load_tensors(Path(folder) / MODEL))
        model.net_ = net.to(device).eval()
        model.best_epoch_ = meta["best_epoch"]
        model.best_val_cosine_ = meta["best_val_cosine"]
        model.history_ = meta["history"]
        return model
