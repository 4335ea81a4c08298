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

The training loop is the images stage's (seeded crops and order per epoch, checkpoints of each
finished epoch as safetensors, resume): the parent classifier's ``build``, ``_batch`` and
``_train_epochs``, with the InfoNCE loss and one module (:func:`_joint`) holding both encoders
and the temperature. Best epoch: highest validation image-to-text R@1 over the validation pairs.
Images uint8 (N, C, R, R); texts float32 (N, dim) mean vectors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..images.checkpoint import load_tensors, save_tensors
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


def _joint(image, text, log_scale):
    """One module holding the image encoder (``image``), the text encoder (``text``) and the
    learned log scale (``log_scale``, a 0-d Parameter): what is trained, checkpointed and saved.
    Its ``state_dict`` keys are ``image.*``, ``text.*`` and last ``log_scale``, stored with shape
    (1,) (as model.safetensors has always held it); ``load_state_dict`` takes it back to 0-d."""
    from torch import nn

    joint = nn.Module()
    joint.image, joint.text, joint.log_scale = image, text, log_scale
    joint.register_state_dict_post_hook(_log_scale_saved)
    joint.register_load_state_dict_pre_hook(_log_scale_loaded)
    return joint


def _log_scale_saved(module, state, prefix, local_metadata) -> None:
    # A module's own parameters come before its children's: move the scale after them.
    state[prefix + "log_scale"] = state.pop(prefix + "log_scale").reshape(1)


def _log_scale_loaded(module, state, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                      error_msgs) -> None:
    if prefix + "log_scale" in state:
        state[prefix + "log_scale"] = state[prefix + "log_scale"].reshape(())


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
        """The image encoder, text encoder and temperature as one module (:func:`_joint`)."""
        import torch

        net = self.build()  # seeds torch, copies the parent, new head of embed_dim outputs
        text = _text_encoder(self.text_dim, self.hidden, self.embed_dim).to(self.device)
        log_scale = torch.nn.Parameter(torch.tensor(math.log(1.0 / self.init_temperature), device=self.device))
        return _joint(net, text, log_scale)

    def _optimizer(self, model):
        """Body at ``lr``; image head, text encoder and temperature at ``lr x head_lr_multiplier``."""
        import torch

        image, prefix = model.image, model.image.head_name + "."
        body = [p for n, p in image.named_parameters() if not n.startswith(prefix)]
        head = [p for n, p in image.named_parameters() if n.startswith(prefix)]
        new = head + list(model.text.parameters()) + [model.log_scale]
        groups = [{"params": body, "lr": self.lr, "name": "body"},
                  {"params": new, "lr": self.lr * self.head_lr_multiplier, "name": "head"}]
        if self.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        return torch.optim.AdamW(groups, lr=self.lr, weight_decay=self.weight_decay)

    def fit(self, images: np.ndarray, texts: np.ndarray, val_images: np.ndarray, val_texts: np.ndarray,
            checkpoint: str | Path | None = None, on_batch: Callable[[int, int], None] | None = None,
            show_progress: bool = True) -> "ContrastiveModel":
        """Train on pairs: uint8 ``images`` (N, C, R, R) and float32 ``texts`` (N, text_dim), row n
        with row n; ``checkpoint``: per-epoch checkpoints, resumed after the last finished epoch."""
        import torch

        from .search import recall_at_k_pairs

        model = self._build_all()
        opt = self._optimizer(model)
        texts_t = torch.as_tensor(np.asarray(texts, dtype=np.float32))

        def batch_loss(x, rows):
            return info_nce(model.image(x).float(), model.text(texts_t[rows].to(self.device)).float(), model.log_scale)

        def validate() -> dict[str, float]:
            self.net_, self.text_, self.log_scale_ = model.image, model.text, model.log_scale  # encode_* use them
            r1 = 0.0
            if len(val_texts):
                sims = self.similarity(self.encode_images(val_images), self.encode_texts(val_texts))
                r1 = recall_at_k_pairs(sims, np.arange(len(val_texts)), [1])[1]
            return {"val_r1": r1, "temperature": float(1.0 / model.log_scale.detach().exp())}

        self.best_epoch_, self.best_val_r1_, self.history_ = self._train_epochs(
            model, opt, images, batch_loss, validate, score="val_r1", best_key="best_val_r1", initial_best=-1.0,
            label="contrastive", checkpoint=checkpoint, on_batch=on_batch)
        self.net_, self.text_, self.log_scale_ = model.image, model.text, model.log_scale
        return self

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """float32 (N, embed_dim) unit-length image embeddings of uint8 images, centre-cropped."""
        import torch.nn.functional as F

        return self._infer(self.net_, lambda x: F.normalize(self.net_(x).float(), dim=1), images, self.embed_dim)

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
        save_tensors(folder / MODEL, _joint(self.net_, self.text_, self.log_scale_).state_dict())
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
        _joint(net, text, log_scale).load_state_dict(load_tensors(Path(folder) / MODEL))
        model.net_, model.text_, model.log_scale_ = net.to(device).eval(), text.to(device).eval(), log_scale
        model.best_epoch_, model.best_val_r1_, model.history_ = meta["best_epoch"], meta["best_val_r1"], meta["history"]
        return model
