"""Term bigrams per key image (Shin et al. 2015, Section 5.2 and Figure 7).

The text around a key image is its referring sentence and the sentences either side. Its
terms (concepts of the combined vocabulary: findings and diseases), in text order across those sentences, give consecutive pairs: terms
``a, b, c`` give ``(a, b)`` and ``(b, c)``. A lone term forms no bigram and is ignored.
Negated terms are left out by default, because "no effusion, small nodule" says nothing
about effusion in the image; ``include_negated=True`` restores the paper's behaviour.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .terms import Mention

__all__ = ["key_image_bigrams"]


def key_image_bigrams(
    mention_lists: Sequence[Iterable[Mention] | None],
    include_negated: bool = False,
) -> list[tuple[Mention, Mention]]:
    """Consecutive term pairs of one key image.

    ``mention_lists``: the mentions of each sentence in text order, typically
    ``[prev_mentions, sentence_mentions, next_mentions]``; ``None`` stands for a missing
    neighbour. Within a sentence mentions are ordered by ``start``. Two consecutive
    mentions of the same concept (same ``code``) form no pair: "cyst ... cysts" is one term.
    Returns ``[(first, second), ...]`` in text order.
    """
    ordered: list[Mention] = []
    for mentions in mention_lists:
        if not mentions:
            continue
        for mention in sorted(mentions, key=lambda m: (m.start, m.end)):
            if mention.negated and not include_negated:
                continue
            if ordered and ordered[-1].code == mention.code:
                continue  # a repeated concept does not pair with itself
            ordered.append(mention)
    return list(zip(ordered, ordered[1:]))
