"""Rank distance: a rank-based measure of language bias in a multilingual pool.

A question has one relevant candidate per language that holds its parallel
answer (11 in XQuAD-R, 2 to 4 in MLQA-R). Their pool ranks r_1..r_R should be
close if the model is language-agnostic: a model that prefers the query's own
language ranks that answer near the top and the parallel ones far below.

    rank distance = max_i r_i - min_i r_i

for each query with R >= 2 (undefined, and skipped, for R < 2); the setting's
value is the mean over queries. 0 means all parallel answers are ranked
consecutively at the top or together; larger is more biased.

    Huang et al. (2023) use it to measure the language bias of multilingual
    dense retrievers; Elmahdy et al. (2024) report it for hybrid batch training.

    @inproceedings{huang2023soft, title={Soft Prompt Decoding for Multilingual
      Dense Retrieval}, author={Huang, Zhiqi and Zeng, Hansi and Zamani, Hamed
      and Allan, James}, booktitle={Proceedings of SIGIR}, year={2023}}
    @article{elmahdy2024synergistic, title={Synergistic Approach for
      Simultaneous Optimization of Monolingual, Cross-lingual, and Multilingual
      Information Retrieval}, author={Elmahdy, Adel and Lin, Sheng-Chieh and
      Ahmad, Amin}, journal={arXiv preprint arXiv:2408.10536}, year={2024}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def rank_distance(ranks: np.ndarray) -> np.ndarray:
    """Per-query max-min rank of the relevant candidates; NaN where fewer than two."""
    finite = np.isfinite(ranks)
    highest = np.where(finite, ranks, -np.inf).max(axis=1)
    lowest = np.where(finite, ranks, np.inf).min(axis=1)
    return np.where(n_relevant(ranks) >= 2, highest - lowest, np.nan)
