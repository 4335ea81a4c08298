"""Losses of the bigram regression CNN (Shin et al., CVPR 2015, Section 5.3, equation 2).

**Equation 2, as read here.** The paper trains the 512-unit output z of the CNN against the
target t (two 256-d word vectors side by side) with the cross-entropy

    E = -(1/N) sum_n [ p_n log p^_n + (1 - p_n) log(1 - p^_n) ],   p = sigmoid(t), p^ = sigmoid(z)

over the elements n. Word-vector entries are real numbers, not probabilities, so both sides go
through the logistic sigmoid: the target becomes a soft label in (0, 1), and the output is
read as logits (Caffe's SigmoidCrossEntropyLoss layer, which the paper used, takes logits and
probability targets). Per element the loss is smallest, with value the entropy of p, exactly
when sigmoid(z) = sigmoid(t), i.e. z = t, and its gradient is (sigmoid(z) - sigmoid(t)) / N:
the network regresses the word vectors themselves, with a pull that saturates for large
entries. Here N is every element of the batch (images x 512): Caffe's layer divides by the
batch size only, a factor of 512 that changes the effective learning rate and nothing else.

**Cosine loss.** 1 - cos between each half of the output and the matching word vector,
averaged over the two halves and the images: the keywords are found by cosine similarity per
half (:mod:`.keywords`), so this trains exactly what is used, ignoring the vectors' lengths.

Shapes: ``output`` and ``target`` float (N, D), D even for the cosine loss; returns a scalar
tensor.
"""

from __future__ import annotations

__all__ = ["sigmoid_cross_entropy", "cosine_loss", "LOSSES"]


def sigmoid_cross_entropy(output, target):
    """Equation 2: mean over all elements of the binary cross-entropy between sigmoid(target)
    (soft labels) and sigmoid(output) (``output`` are logits)."""
    import torch

    return torch.nn.functional.binary_cross_entropy_with_logits(output, torch.sigmoid(target), reduction="mean")


def cosine_loss(output, target, halves: int = 2):
    """Mean over images and over the ``halves`` equal parts of the last axis of 1 - cos(part of
    output, part of target); a zero part has cosine 0 (loss 1)."""
    import torch

    n, d = output.shape
    if d % halves:
        raise ValueError(f"an output of {d} values does not split into {halves} equal parts")
    out = output.reshape(n, halves, d // halves)
    tgt = target.reshape(n, halves, d // halves)
    return (1.0 - torch.nn.functional.cosine_similarity(out, tgt, dim=2, eps=1e-8)).mean()


LOSSES = {"sigmoid_cross_entropy": sigmoid_cross_entropy, "cosine": cosine_loss}
