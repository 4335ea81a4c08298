"""A CNN from key images to the topics of one level: an estimator in the scikit-learn sense.

``TopicClassifier(arch, classes, ...)`` stores its settings; ``fit`` trains, resuming from a
checkpoint folder when one is given; ``predict_scores`` gives softmax probabilities;
``save``/``load`` write and read ``model.safetensors`` + ``model.json``. Learned state ends in ``_``.

Training, as in the paper (Section 4):

1. The network comes from ``networks.build_network(arch, ...)``: from ImageNet weights
   (``pretrained``: EfficientNet-Lite0) or a seeded random initialisation, or, with
   ``init_from``, from a finished classifier of the level above (level 2 from level 1,
   level 3 from level 2): its body and weights copied, its head swapped for a new one
   with this level's classes (``networks.replace_head``).
2. Two parameter groups: the body at ``lr``, the head (``net.head_name``) at
   ``lr x head_lr_multiplier``; SGD with momentum and weight decay (or AdamW).
3. Each epoch: the training images in a seeded random order; each image a random
   ``crop`` x ``crop`` window of its ``resize`` square, flipped left-right at random when
   ``flip``; pixels / 255 through ``networks.tflite_normalise``. The randomness of epoch e
   comes from ``seed`` and e alone, so a run resumed after epoch e-1 draws what an
   uninterrupted run draws, and ends with the same weights.
4. After each epoch: top-1 accuracy on the validation images (centre crops); the best
   epoch's weights are kept (ties: the earlier epoch); with a checkpoint folder the epoch
   is saved (:mod:`.checkpoint`) and a rerun resumes after the last finished epoch.
5. On a GPU: bf16 autocast; on the CPU float32 (and a seed makes the run repeatable).

Images go in as uint8 arrays (N, in_channels, resize, resize); labels as int64 class
indices (N,) into ``classes`` (topic ids).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..workspace import write_json
from .checkpoint import load_optimizer, load_tensors, read_state, save_epoch, save_tensors

__all__ = ["TopicClassifier", "resolve_device"]

MODEL = "model.safetensors"
META = "model.json"


def resolve_device(setting: str) -> str:
    """"auto" -> "cuda" when a GPU is present, else "cpu"; "cpu"/"cuda" as given."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting not in ("cpu", "cuda"):
        raise ValueError(f"images.device must be auto, cpu or cuda, not {setting!r}")
    if setting == "cuda" and not torch.cuda.is_available():
        raise ValueError("images.device = cuda but no GPU is present")
    return setting


class TopicClassifier:
    """Softmax over one topic level's kept topics (``classes``: topic ids, index = class)."""

    def __init__(self, arch: str, classes: Sequence[str], *, level: str, in_channels: int, pretrained: bool,
                 resize: int, crop: int, flip: bool, epochs: int, batch_size: int, optimizer: str, lr: float,
                 momentum: float, weight_decay: float, head_lr_multiplier: float, seed: int, device: str,
                 network: dict[str, Any], bn_momentum: float, init_from: str | Path | None = None):
        self.arch = arch
        self.classes = [str(c) for c in classes]
        self.level = level
        self.in_channels = int(in_channels)
        self.pretrained = bool(pretrained)
        self.resize = int(resize)
        self.crop = int(crop)
        self.flip = bool(flip)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.optimizer = optimizer
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.head_lr_multiplier = float(head_lr_multiplier)
        self.seed = int(seed)
        self.device = device
        self.network = dict(network)
        self.bn_momentum = float(bn_momentum)
        self.init_from = None if init_from is None else str(init_from)
        if optimizer not in ("sgd", "adamw"):
            raise ValueError(f"images.train.optimizer must be sgd or adamw, not {optimizer!r}")

    @classmethod
    def from_config(cls, cfg: dict[str, Any], arch: str, level: str, classes: Sequence[str], *,
                    pretrained: bool, init_from: str | Path | None, device: str) -> "TopicClassifier":
        """From the ``[images]`` config section (its ``train`` and ``dataset`` tables)."""
        t = cfg["train"]
        return cls(arch, classes, level=level, in_channels=cfg["dataset"]["in_channels"], pretrained=pretrained,
                   resize=cfg["dataset"]["resize"], crop=t["crop"], flip=t["flip"], epochs=t["epochs"], batch_size=t["batch_size"],
                   optimizer=t["optimizer"], lr=t["lr"], momentum=t["momentum"], weight_decay=t["weight_decay"],
                   head_lr_multiplier=t["head_lr_multiplier"], seed=cfg["seed"], device=device,
                   network=cfg["networks"][arch], bn_momentum=t["bn_momentum"], init_from=init_from)

    def params(self) -> dict[str, Any]:
        keys = ("arch", "classes", "level", "in_channels", "pretrained", "resize", "crop", "flip", "epochs", "batch_size",
                "optimizer", "lr", "momentum", "weight_decay", "head_lr_multiplier", "seed", "network", "bn_momentum", "init_from")
        return {k: getattr(self, k) for k in keys}

    # ------------------------------------------------------------------ building

    def build(self):
        """The network with its initial weights (seeded), on ``self.device``."""
        import torch

        from .networks import build_network, replace_head

        torch.manual_seed(self.seed)
        self.parent_level_ = None
        if self.init_from is None:
            net = build_network(self.arch, len(self.classes), in_channels=self.in_channels,
                                pretrained=self.pretrained, **self.network)
        else:
            parent = json.loads((Path(self.init_from) / META).read_text("utf-8"))
            if parent["arch"] != self.arch:
                raise ValueError(f"cannot start {self.arch} from a {parent['arch']} model ({self.init_from})")
            net = build_network(self.arch, len(parent["classes"]), in_channels=self.in_channels, pretrained=False,
                                **self.network)
            net.load_state_dict(load_tensors(Path(self.init_from) / MODEL))
            self.parent_level_ = parent["level"]
            net = replace_head(net, len(self.classes))
        # The ImageNet statistics of grey, small key images are far off, and TF's running-stat
        # decay (0.99) needs hundreds of steps to forget them: a short fine-tune evaluated
        # with them scored below chance (docs/images.md).
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.momentum = self.bn_momentum
        return net.to(self.device)

    def make_optimizer(self, net):
        """Body at ``lr``, head (``net.head_name``) at ``lr x head_lr_multiplier``: groups [body, head]."""
        import torch

        prefix = net.head_name + "."
        body = [p for n, p in net.named_parameters() if not n.startswith(prefix)]
        head = [p for n, p in net.named_parameters() if n.startswith(prefix)]
        groups = [{"params": body, "lr": self.lr, "name": "body"},
                  {"params": head, "lr": self.lr * self.head_lr_multiplier, "name": "head"}]
        if self.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        return torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay)

    # ------------------------------------------------------------------ input

    def _batch(self, images: np.ndarray, rows: np.ndarray, generator=None):
        """float32 (n, C, crop, crop) normalised; random crops/flips with ``generator``, else centre."""
        import torch

        from .networks import tflite_normalise

        x = torch.from_numpy(images[rows])
        n, _, h, w = x.shape
        if generator is None:
            top, left = (h - self.crop) // 2, (w - self.crop) // 2
            out = x[:, :, top:top + self.crop, left:left + self.crop]
        else:
            tops = torch.randint(0, h - self.crop + 1, (n,), generator=generator)
            lefts = torch.randint(0, w - self.crop + 1, (n,), generator=generator)
            flips = torch.rand(n, generator=generator) < 0.5
            parts = []
            for i in range(n):
                t, l = int(tops[i]), int(lefts[i])
                part = x[i, :, t:t + self.crop, l:l + self.crop]
                if self.flip and bool(flips[i]):
                    part = part.flip(-1)
                parts.append(part)
            out = torch.stack(parts)
        return tflite_normalise(out.float() / 255.0).to(self.device)

    def _autocast(self):
        import torch

        if self.device == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ fit

    def fit(self, images: np.ndarray, targets: np.ndarray, val_images: np.ndarray, val_targets: np.ndarray,
            checkpoint: str | Path | None = None, on_batch: Callable[[int, int], None] | None = None,
            show_progress: bool = True) -> "TopicClassifier":
        """Train on uint8 ``images`` (N, C, R, R) with class indices ``targets`` (N,).

        ``checkpoint``: folder of per-epoch checkpoints; a rerun resumes after its last
        finished epoch. ``on_batch(epoch, batch)`` is called after each optimizer step
        (1-based; a test hook that may raise to simulate an interruption).
        """
        import torch

        if images.shape[-1] < self.crop:
            raise ValueError(f"images of {images.shape[-1]} px are smaller than the crop {self.crop}")
        net = self.build()
        opt = self.make_optimizer(net)
        targets_t = torch.as_tensor(np.asarray(targets, dtype=np.int64))
        loss_fn = torch.nn.CrossEntropyLoss()
        self.best_epoch_, self.best_val_top1_, self.history_ = self._train_epochs(
            net, opt, images, lambda x, rows: loss_fn(net(x).float(), targets_t[rows].to(self.device)),
            lambda: {"val_top1": self._accuracy(net, val_images, val_targets)}, score="val_top1",
            best_key="best_accuracy", initial_best=-1.0, label=f"{self.arch} {self.level}",
            checkpoint=checkpoint, on_batch=on_batch)
        self.net_ = net
        return self

    def _train_epochs(self, model, opt, images: np.ndarray, batch_loss: Callable, validate: Callable[[], dict],
                      *, score: str, best_key: str, initial_best: float, label: str,
                      checkpoint: str | Path | None, on_batch: Callable[[int, int], None] | None,
                      ) -> tuple[int, float, list[dict[str, Any]]]:
        """The epoch loop of :meth:`fit` and of the estimators built on this class (steps 3-5 above).

        ``model``: the module trained, whose ``state_dict`` is the checkpoint's weights; ``opt`` its
        optimizer. ``batch_loss(x, rows)``: the scalar loss of the float32 crops ``x`` (n, C, crop,
        crop) of the training rows ``rows`` (int64 indices into uint8 ``images`` (N, C, R, R)),
        called under autocast. ``validate()``: the epoch's validation figures, the rest of its
        history row, ``score`` among them (higher is better; ``initial_best`` is below any).
        ``best_key``: the best score's name in ``state.json``; ``label``: the progress bar's.
        Returns (best epoch, best score, history); ``model`` ends with the best epoch's weights
        (ties: the earlier epoch), in eval mode.
        """
        import torch

        from ..progress import console, progress

        folder = Path(checkpoint) if checkpoint is not None else None
        history: list[dict[str, Any]] = []
        best_state = copy.deepcopy(model.state_dict())
        best_epoch, best, start = 0, initial_best, 1
        state = read_state(folder) if folder is not None else None
        if state is not None:
            model.load_state_dict(load_tensors(folder / state["checkpoint"] / "weights.safetensors"))
            load_optimizer(opt, load_tensors(folder / state["checkpoint"] / "optimizer.safetensors"),
                           json.loads((folder / state["checkpoint"] / "optimizer.json").read_text("utf-8")))
            best_state = load_tensors(folder / state["best_checkpoint"] / "weights.safetensors")
            best_epoch, best = int(state["best_epoch"]), float(state[best_key])
            history = list(state["history"])
            start = int(state["epoch"]) + 1
            console.print(f"{label}: resuming after epoch {start - 1} (the last finished one)")
        self.resumed_from_ = start - 1
        n = len(images)
        n_batches = max(1, math.ceil(n / self.batch_size))
        with progress() as bar:
            task = bar.add_task(label, total=(self.epochs - start + 1) * n_batches)
            for epoch in range(start, self.epochs + 1):
                gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                torch.manual_seed(self.seed * 1_000_003 + epoch)  # dropout
                order = torch.randperm(n, generator=gen).numpy()
                model.train()
                total, seen = 0.0, 0
                for b in range(n_batches):
                    rows = order[b * self.batch_size:(b + 1) * self.batch_size]
                    if len(rows) < 2:  # BatchNorm cannot train on one image
                        bar.advance(task)
                        continue
                    x = self._batch(images, rows, gen)
                    with self._autocast():
                        loss = batch_loss(x, rows)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(rows)
                    seen += len(rows)
                    bar.update(task, advance=1, description=f"{label} e{epoch} loss {total / seen:.4f}")
                    if on_batch is not None:
                        on_batch(epoch, b + 1)
                figures = validate()
                history.append({"epoch": epoch, "train_loss": total / max(1, seen), **figures})
                improved = figures[score] > best
                if improved:
                    best, best_epoch = figures[score], epoch
                    best_state = copy.deepcopy(model.state_dict())
                bar.update(task, description=f"{label} e{epoch} loss {total / max(1, seen):.4f} "
                                             f"{score} {figures[score]:.3f}")
                if folder is not None:
                    save_epoch(folder, epoch, model, opt, best_state if improved else None,
                               {"best_epoch": best_epoch, best_key: best, "history": history})
        model.load_state_dict(best_state)
        model.eval()
        return best_epoch, best, history

    def _accuracy(self, net, images: np.ndarray, targets: np.ndarray) -> float:
        if len(targets) == 0:
            return 0.0
        scores = self._scores(net, images)
        return float(np.mean(scores.argmax(axis=1) == np.asarray(targets)))

    def _scores(self, net, images: np.ndarray) -> np.ndarray:
        import torch

        return self._infer(net, lambda x: torch.softmax(net(x).float(), dim=1), images, len(self.classes))

    def _infer(self, net, fn: Callable, images: np.ndarray, width: int) -> np.ndarray:
        """float32 (N, width): ``fn(x)`` (cast to float32) of the centre crops ``x`` (n, C, crop, crop)
        of uint8 ``images`` (N, C, R, R), a batch at a time, with ``net`` in eval mode, without
        gradients, under autocast (where softmax and normalisation run in float32 all the same)."""
        import torch

        net.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                rows = np.arange(start, min(len(images), start + self.batch_size))
                with self._autocast():
                    out.append(fn(self._batch(images, rows)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, width), np.float32)

    def predict_scores(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, classes) softmax probabilities of uint8 images (N, C, R, R), centre-cropped.

        New images: ``cache.decode_png(path, self.resize)`` gives each (R, R) uint8 array."""
        return self._scores(self.net_, images)

    def features(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, net.feature_dim) pooled embeddings (before the head) of uint8 images
        (N, C, R, R), centre-cropped: what issue 10's retrieval and contrastive models start from."""
        return self._infer(self.net_, self.net_.forward_features, images, int(self.net_.feature_dim))

    # ------------------------------------------------------------------ save / load

    def save(self, folder: str | Path) -> Path:
        """``model.safetensors`` (best weights) and ``model.json`` (settings, class mapping,
        best epoch, history) in ``folder``, each written atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / MODEL, self.net_.state_dict())
        # init_from is a path of the run's scratch: the parent's level says where it came from.
        write_json(folder / META, {**self.params(), "init_from": None, "parent_level": self.parent_level_,
                                   "head_name": self.net_.head_name,
                                   "feature_dim": int(self.net_.feature_dim),
                                   "class_index": {t: i for i, t in enumerate(self.classes)},
                                   "best_epoch": self.best_epoch_, "best_val_top1": self.best_val_top1_,
                                   "history": self.history_})
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> "TopicClassifier":
        """A fitted classifier from :meth:`save`'s folder (weights loaded strictly)."""
        import torch

        from .networks import build_network

        folder = Path(folder)
        meta = json.loads((folder / META).read_text("utf-8"))
        keys = ("level", "in_channels", "pretrained", "resize", "crop", "flip", "epochs", "batch_size", "optimizer", "lr",
                "momentum", "weight_decay", "head_lr_multiplier", "seed", "network", "bn_momentum", "init_from")
        model = cls(meta["arch"], meta["classes"], device=device, **{k: meta[k] for k in keys})
        torch.manual_seed(model.seed)
        net = build_network(model.arch, len(model.classes), in_channels=model.in_channels, pretrained=False,
                            **model.network)
        net.load_state_dict(load_tensors(folder / MODEL))
        model.net_ = net.to(device).eval()
        model.parent_level_ = meta["parent_level"]
        model.best_epoch_ = meta["best_epoch"]
        model.best_val_top1_ = meta["best_val_top1"]
        model.history_ = meta["history"]
        return model
