"""Normalised discounted cumulative gain at cut-off k, binary gains.

    DCG@k  = sum over relevant candidates with rank r <= k of 1 / log2(r + 1)
    IDCG@k = sum_{i=1..min(R, k)} 1 / log2(i + 1)
    nDCG@k = DCG@k / IDCG@k

with R the number of relevant candidates. Equals trec_eval's ``ndcg_cut_k``
with relevance grade 1.

    @article{jarvelin2002cumulated, title={Cumulated gain-based evaluation of
      IR techniques}, author={J{\"a}rvelin, Kalervo and Kek{\"a}l{\"a}inen,
      Jaana}, journal={ACM Transactions on Information Systems}, volume={20},
      number={4}, pages={422--446}, year={2002}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def ndcg_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """Per-query nDCG@k from the padded ``ranks`` array."""
    gains = np.where(ranks <= k, 1.0 / np.log2(np.minimum(ranks, k) + 1.0), 0.0)
    ideal_discounts = np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))
    ideal = ideal_discounts[np.clip(np.minimum(n_relevant(ranks), k) - 1, 0, None)]
    return np.where(n_relevant(ranks) > 0, gains.sum(axis=1) / ideal, 0.0)
