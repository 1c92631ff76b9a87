"""Average precision cut at k with XTREME-R's divisor min(R, k) (the LAReQA protocol of XTREME-R).

For a query with R relevant candidates at pool ranks r_1 < ... < r_R:

    AP@k = (1 / min(R, k)) * sum_{i: r_i <= k} i / r_i

Only relevant candidates within the top k count, and the sum is divided by min(R, k), not by R
(trec_eval's ``map_cut_k`` divides by R). XTREME-R reports mAP@20 on LAReQA (XQuAD-R):
``average_precision_at_k`` in third_party/utils_lareqa.py of google-research/xtreme.

    @inproceedings{ruder2021xtremer, title={{XTREME-R}: Towards More Challenging and Nuanced
      Multilingual Evaluation}, author={Ruder, Sebastian and Constant, Noah and Botha, Jan and
      Siddhant, Aditya and Firat, Orhan and Fu, Jinlan and Liu, Pengfei and Hu, Junjie and
      Garrette, Dan and Neubig, Graham and Johnson, Melvin}, booktitle={EMNLP}, year={2021}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def average_precision_at_k(ranks: np.ndarray, k: int = 20) -> np.ndarray:
    """Per-query AP@k (divisor min(R, k)) from the padded ``ranks`` array (see ``_ranks``)."""
    ordered = np.sort(ranks, axis=1)
    position = np.arange(1, ordered.shape[1] + 1)
    precision = np.where(ordered <= k, position / ordered, 0.0)
    return precision.sum(axis=1) / np.maximum(np.minimum(n_relevant(ranks), k), 1)
