"""A contrastive image-text model (ConVIRT, Zhang et al. 2020; CLIP, Radford et al. 2021) on
the key images and their referring sentences.

- **Image encoder**: the images stage's network from a finished topic classifier (the level-1
  model: ImageNet weights fine-tuned on the topics), its head replaced by a Linear to
  ``embed_dim`` (``networks.replace_head``): the pooled features, projected.
- **Text encoder**: the mean of the sentence's word vectors (the vectors stage's, fixed),
  through a small MLP (Linear, ReLU, Linear) to ``embed_dim``. Why not a transformer: the
  sentences are short, the pairs few (10^3 here, 10^5 in the paper), and the word vectors were
  trained on these very reports; a mean keeps the vectors' meaning and the MLP learns which of
  their directions the images can see, with a few thousand parameters that train in seconds on a
  CPU. Word order (negation, laterality) is lost: the tokens carry negation (``no_...``)
  where the tokenizer marks it.
- **Loss**: symmetric InfoNCE: embeddings L2-normalised, logits = exp(t) x image @ text.T
  over a batch, cross-entropy of each image against the batch's texts and of each text
  against the images, averaged; the temperature t is learned (initialised at log(1 / 0.07),
  clamped at log 100, as CLIP).

The training loop is the images stage's conventions (seeded crops and order per epoch,
checkpoints of each finished epoch as safetensors, resume), via the parent classifier's
``build``, ``_batch`` and the checkpoint module. Best epoch: highest validation image-to-text
R@1 over the validation pairs. Images uint8 (N, C, R, R); texts float32 (N, dim) mean vectors.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..images.checkpoint import load_optimizer, load_tensors, read_state, save_epoch, save_tensors
from ..images.classifier import TopicClassifier
from ..workspace import write_json

__all__ = ["ContrastiveModel", "mean_vectors"]

MODEL = "model.safetensors"
META = "model.json"
_TRAIN_KEYS = ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay", "head_lr_multiplier",
               "bn_momentum", "seed", "embed_dim", "hidden", "init_temperature")


def mean_vectors(token_lists: Sequence[Sequence[str]], index: dict[str, int], matrix: np.ndarray) -> np.ndarray:
    """float32 (N, dim): each list's mean word vector over its tokens that have one (zeros if none)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    out = np.zeros((len(token_lists), matrix.shape[1]), np.float32)
    for i, tokens in enumerate(token_lists):
        rows = [index[t] for t in tokens if t in index]
        if rows:
            out[i] = matrix[rows].mean(axis=0)
    return out


def _text_encoder(dim: int, hidden: int, embed_dim: int):
    from torch import nn

    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, embed_dim))


def info_nce(image_emb, text_emb, log_scale):
    """Symmetric InfoNCE of matching rows: mean of the image->text and text->image cross-entropies."""
    import torch
    import torch.nn.functional as F

    img = F.normalize(image_emb, dim=1)
    txt = F.normalize(text_emb, dim=1)
    logits = log_scale.clamp(max=math.log(100.0)).exp() * img @ txt.T
    labels = torch.arange(len(img), device=img.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


class ContrastiveModel(TopicClassifier):
    """Image encoder (a topic classifier's network, head -> ``embed_dim``) and text encoder (MLP
    over mean word vectors of ``text_dim``); learned state ``net_``, ``text_``, ``log_scale_``."""

    def __init__(self, *, parent: dict[str, Any], init_from: str | Path | None, text_dim: int, device: str,
                 embed_dim: int, hidden: int, init_temperature: float, flip: bool, **train: Any):
        super().__init__(parent["arch"], [str(i) for i in range(int(embed_dim))], level="contrastive",
                         in_channels=parent["in_channels"], pretrained=False, resize=parent["resize"],
                         crop=parent["crop"], flip=bool(flip), device=device, network=parent["network"],
                         init_from=init_from, **train)
        self.embed_dim, self.hidden, self.text_dim = int(embed_dim), int(hidden), int(text_dim)
        self.init_temperature = float(init_temperature)
        self.parent = {k: parent[k] for k in ("arch", "in_channels", "resize", "crop", "network", "level")}

    @classmethod
    def from_parent(cls, folder: str | Path, settings: dict[str, Any], *, text_dim: int,
                    device: str) -> "ContrastiveModel":
        """From the finished classifier in ``folder``; ``settings``: ``[retrieval.contrastive]``."""
        parent = json.loads((Path(folder) / META).read_text("utf-8"))
        return cls(parent=parent, init_from=folder, text_dim=text_dim, device=device,
                   flip=settings["flip"], **{k: settings[k] for k in _TRAIN_KEYS})

    def _build_all(self):
        import torch

        net = self.build()  # seeds torch, copies the parent, new head of embed_dim outputs
        text = _text_encoder(self.text_dim, self.hidden, self.embed_dim).to(self.device)
        log_scale = torch.nn.Parameter(torch.tensor(math.log(1.0 / self.init_temperature), device=self.device))
        return net, text, log_scale

    def _optimizer(self, net, text, log_scale):
        """Body at ``lr``; image head, text encoder and temperature at ``lr x head_lr_multiplier``."""
        import torch

        prefix = net.head_name + "."
        body = [p for n, p in net.named_parameters() if not n.startswith(prefix)]
        new = [p for n, p in net.named_parameters() if n.startswith(prefix)] + list(text.parameters()) + [log_scale]
        groups = [{"params": body, "lr": self.lr, "name": "body"},
                  {"params": new, "lr": self.lr * self.head_lr_multiplier, "name": "head"}]
        if self.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        return torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay)

    @staticmethod
    def _state(net, text, log_scale) -> dict[str, Any]:
        state = {f"image.{k}": v for k, v in net.state_dict().items()}
        state.update({f"text.{k}": v for k, v in text.state_dict().items()})
        state["log_scale"] = log_scale.detach().reshape(1)
        return state

    @staticmethod
    def _load_state(state, net, text, log_scale) -> None:
        import torch

        net.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("image.")})
        text.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("text.")})
        with torch.no_grad():
            log_scale.copy_(state["log_scale"].reshape(()))

    def fit(self, images: np.ndarray, texts: np.ndarray, val_images: np.ndarray, val_texts: np.ndarray,
            checkpoint: str | Path | None = None, on_batch: Callable[[int, int], None] | None = None,
            show_progress: bool = True) -> "ContrastiveModel":
        """Train on pairs: uint8 ``images`` (N, C, R, R) and float32 ``texts`` (N, text_dim), row n
        with row n; ``checkpoint``: per-epoch checkpoints, resumed after the last finished epoch."""
        import torch

        from ..progress import progress
        from .search import recall_at_k_pairs

        net, text, log_scale = self._build_all()
        opt = self._optimizer(net, text, log_scale)
        texts_t = torch.as_tensor(np.asarray(texts, dtype=np.float32))
        folder = Path(checkpoint) if checkpoint is not None else None

        class _Both(torch.nn.Module):  # one state_dict for save_epoch's network slot
            def __init__(self, state):
                super().__init__()
                self._s = state

            def state_dict(self, *args, **kwargs):
                return self._s

        history: list[dict[str, Any]] = []
        best_state = copy.deepcopy(self._state(net, text, log_scale))
        best_epoch, best_r1, start = 0, -1.0, 1
        state = read_state(folder) if folder is not None else None
        if state is not None:
            self._load_state(load_tensors(folder / state["checkpoint"] / "weights.safetensors"), net, text, log_scale)
            load_optimizer(opt, load_tensors(folder / state["checkpoint"] / "optimizer.safetensors"),
                           json.loads((folder / state["checkpoint"] / "optimizer.json").read_text("utf-8")))
            best_state = load_tensors(folder / state["best_checkpoint"] / "weights.safetensors")
            best_epoch, best_r1 = int(state["best_epoch"]), float(state["best_val_r1"])
            history = list(state["history"])
            start = int(state["epoch"]) + 1
        self.resumed_from_ = start - 1
        n = len(texts_t)
        n_batches = max(1, math.ceil(n / self.batch_size))
        with progress() as bar:
            task = bar.add_task("contrastive", total=(self.epochs - start + 1) * n_batches)
            for epoch in range(start, self.epochs + 1):
                gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                torch.manual_seed(self.seed * 1_000_003 + epoch)
                order = torch.randperm(n, generator=gen).numpy()
                net.train()
                text.train()
                total, seen = 0.0, 0
                for b in range(n_batches):
                    rows = order[b * self.batch_size:(b + 1) * self.batch_size]
                    if len(rows) < 2:
                        bar.advance(task)
                        continue
                    x = self._batch(images, rows, gen)
                    with self._autocast():
                        loss = info_nce(net(x).float(), text(texts_t[rows].to(self.device)).float(), log_scale)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(rows)
                    seen += len(rows)
                    bar.update(task, advance=1, description=f"contrastive e{epoch} loss {total / seen:.3f}")
                    if on_batch is not None:
                        on_batch(epoch, b + 1)
                self.net_, self.text_, self.log_scale_ = net, text, log_scale
                r1 = 0.0
                if len(val_texts):
                    sims = self.similarity(self.encode_images(val_images), self.encode_texts(val_texts))
                    r1 = recall_at_k_pairs(sims, np.arange(len(val_texts)), [1])[1]
                history.append({"epoch": epoch, "train_loss": total / max(1, seen), "val_r1": r1,
                                "temperature": float(1.0 / log_scale.detach().exp())})
                improved = r1 > best_r1
                if improved:
                    best_r1, best_epoch = r1, epoch
                    best_state = copy.deepcopy(self._state(net, text, log_scale))
                if folder is not None:
                    save_epoch(folder, epoch, _Both(self._state(net, text, log_scale)), opt,
                               best_state if improved else None,
                               {"best_epoch": best_epoch, "best_val_r1": best_r1, "history": history})
        self._load_state(best_state, net, text, log_scale)
        net.eval()
        text.eval()
        self.net_, self.text_, self.log_scale_ = net, text, log_scale
        self.best_epoch_, self.best_val_r1_, self.history_ = best_epoch, best_r1, history
        return self

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, embed_dim) unit-length image embeddings of uint8 images, centre-cropped."""
        import torch
        import torch.nn.functional as F

        self.net_.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                rows = np.arange(start, min(len(images), start + self.batch_size))
                with self._autocast():
                    out.append(F.normalize(self.net_(self._batch(images, rows)).float(), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.embed_dim), np.float32)

    def encode_texts(self, texts: np.ndarray) -> np.ndarray:
        """float32 (N, embed_dim) unit-length text embeddings of mean word vectors (N, text_dim)."""
        import torch
        import torch.nn.functional as F

        self.text_.eval()
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(texts, dtype=np.float32), device=self.device)
            return F.normalize(self.text_(x), dim=1).cpu().numpy()

    @staticmethod
    def similarity(image_emb: np.ndarray, text_emb: np.ndarray) -> np.ndarray:
        """(N_images, N_texts) cosine similarities of unit embeddings."""
        return np.asarray(image_emb, np.float32) @ np.asarray(text_emb, np.float32).T

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_tensors(folder / MODEL, self._state(self.net_, self.text_, self.log_scale_))
        write_json(folder / META, {"parent": self.parent, "text_dim": self.text_dim, "flip": self.flip,
                                   **{k: getattr(self, k) for k in _TRAIN_KEYS},
                                   "best_epoch": self.best_epoch_, "best_val_r1": self.best_val_r1_,
                                   "history": self.history_})
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> "ContrastiveModel":
        from ..images.networks import build_network

        meta = json.loads((Path(folder) / META).read_text("utf-8"))
        model = cls(parent=meta["parent"], init_from=None, text_dim=meta["text_dim"], device=device,
                    flip=meta["flip"], **{k: meta[k] for k in _TRAIN_KEYS})
        import torch

        net = build_network(model.arch, model.embed_dim, in_channels=model.in_channels, pretrained=False,
                            **model.network)
        text = _text_encoder(model.text_dim, model.hidden, model.embed_dim)
        log_scale = torch.nn.Parameter(torch.zeros(()))
        cls._load_state(load_tensors(Path(folder) / MODEL), net, text, log_scale)
        model.net_, model.text_, model.log_scale_ = net.to(device).eval(), text.to(device).eval(), log_scale
        model.best_epoch_, model.best_val_r1_, model.history_ = meta["best_epoch"], meta["best_val_r1"], meta["history"]
        return model
