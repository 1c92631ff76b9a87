"""Reciprocal rank of the first relevant candidate, optionally cut off at k.

    RR@k = 1 / min_i r_i   if min_i r_i <= k, else 0

MRR@k is its mean over queries. Without a cut-off it is trec_eval's
``recip_rank``; with k = 10 it is MS MARCO's MRR@10.

    @inproceedings{voorhees1999trec8qa, title={The TREC-8 Question Answering
      Track Report}, author={Voorhees, Ellen M.}, booktitle={Proceedings of
      TREC-8}, pages={77--82}, year={1999}}
"""

from __future__ import annotations

import numpy as np


def reciprocal_rank(ranks: np.ndarray, k: int | None = None) -> np.ndarray:
    """Per-query RR (RR@k when ``k`` is given) from the padded ``ranks`` array."""
    first = ranks.min(axis=1)
    rr = 1.0 / first  # inf (no relevant candidate) gives 0
    return rr if k is None else np.where(first <= k, rr, 0.0)
