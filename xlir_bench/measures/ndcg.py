"""Normalised discounted cumulative gain at cut-off k, graded gains.

    DCG@k  = sum over judged candidates with rank r <= k of g / log2(r + 1)
    IDCG@k = sum_{i=1..k} g_(i) / log2(i + 1), g_(1) >= g_(2) >= ... the grades sorted
    nDCG@k = DCG@k / IDCG@k

with g a candidate's relevance grade (the gain, linear as in trec_eval; 1 for
every relevant candidate of XQuAD-R and MLQA-R, where IDCG@k reduces to
sum_{i=1..min(R, k)} 1 / log2(i + 1)). Equals trec_eval's ``ndcg_cut_k``.

    @article{jarvelin2002cumulated, title={Cumulated gain-based evaluation of
      IR techniques}, author={J{\"a}rvelin, Kalervo and Kek{\"a}l{\"a}inen,
      Jaana}, journal={ACM Transactions on Information Systems}, volume={20},
      number={4}, pages={422--446}, year={2002}}
"""

from __future__ import annotations

import numpy as np


def ndcg_at_k(ranks: np.ndarray, k: int, grades: np.ndarray | None = None) -> np.ndarray:
    """Per-query nDCG@k from the padded ``ranks`` array and the grades beside it (default: all 1)."""
    grades = np.where(np.isfinite(ranks), 1.0, 0.0) if grades is None else np.where(np.isfinite(ranks), grades, 0.0)
    dcg = np.where(ranks <= k, grades / np.log2(np.minimum(ranks, k) + 1.0), 0.0).sum(axis=1)
    ideal_grades = -np.sort(-grades, axis=1)[:, :k]
    idcg = (ideal_grades / np.log2(np.arange(2, ideal_grades.shape[1] + 2))).sum(axis=1)
    return np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)
