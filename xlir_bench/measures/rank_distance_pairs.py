"""Pairwise rank distance: the mean rank gap over all pairs of a question's relevant candidates.

A second reading of rank distance (:mod:`xlir_bench.measures.rank_distance`,
which takes the largest gap, max - min): the defining paragraph of the measure
in Huang et al. (2023) / Elmahdy et al. (2024) could not be checked, and "the
distance between the ranks of the parallel answers" reads as naturally as an
average over pairs. Per query with relevant candidates at pool ranks r_1..r_R,
R >= 2 (NaN otherwise):

    rank_distance_pairs = (2 / (R (R - 1))) * sum_{i < j} |r_i - r_j|

computed from the sorted ranks r_(1) <= ... <= r_(R) as
sum_k r_(k) (2k - R - 1) / (R (R - 1) / 2) (each r_(k) is the larger of k - 1
pairs and the smaller of R - k). With R = 2 it equals max - min; it is at most
max - min; for random ranking its expectation is (N + 1)/3 for any R (the mean
gap of two distinct uniform positions in 1..N). Smaller is less biased.

    @inproceedings{huang2023soft, title={Soft Prompt Decoding for Multilingual
      Dense Retrieval}, author={Huang, Zhiqi and Zeng, Hansi and Zamani, Hamed
      and Allan, James}, booktitle={Proceedings of SIGIR}, year={2023},
      note={arXiv:2305.09025}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def rank_distance_pairs(ranks: np.ndarray) -> np.ndarray:
    """Per-query mean |r_i - r_j| over pairs of relevant candidates; NaN where fewer than two."""
    r = n_relevant(ranks)
    ordered = np.sort(ranks, axis=1)  # inf padding sorts last
    k = np.arange(1, ranks.shape[1] + 1)[None, :]
    weights = np.where(k <= r[:, None], 2 * k - r[:, None] - 1, 0)
    total = (np.where(np.isfinite(ordered), ordered, 0.0) * weights).sum(axis=1)
    pairs = r * (r - 1) / 2
    return np.where(r >= 2, total / np.where(r >= 2, pairs, 1), np.nan)
