"""Recall at cut-off k.

    recall@k = |{relevant candidates with rank <= k}| / R

where R is the query's number of relevant candidates (1 in XQuAD-R mono and
cross settings, up to 11 in a multilingual pool). Same as trec_eval's
``recall_k``.

    @book{manning2008introduction, title={Introduction to Information
      Retrieval}, author={Manning, Christopher D. and Raghavan, Prabhakar and
      Sch{\"u}tze, Hinrich}, publisher={Cambridge University Press}, year={2008}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def recall_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per-query recall@k from the padded ``ranks`` array."""
    return (ranks <= k).sum(axis=1) / np.maximum(n_relevant(ranks), 1)
