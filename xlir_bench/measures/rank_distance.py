"""Rank distance: a rank-based measure of language bias in a multilingual pool.

A question has one relevant candidate per language that holds its parallel
answer (11 in XQuAD-R, 2 to 4 in MLQA-R). Their pool ranks r_1..r_R should be
close if the model is language-agnostic: a model that prefers the query's own
language ranks that answer near the top and the parallel ones far below.

    rank distance = max_i r_i - min_i r_i

for each query with R >= 2 (undefined, and skipped, for R < 2); the setting's
value is the mean over queries. Pool ranks are distinct, so the smallest
possible value is R - 1: all R parallel answers ranked consecutively (for
example at ranks 1..R, the strongly aligned case); larger is more biased.

Chance. For random ranking the expected value is (N + 1)(R - 1)/(R + 1) (N
pool size), 10,845.8 on XQuAD-R: a model that ranks the answers badly in every
language scores near it without any preference for a language, so rank
distance mixes bias with plain ineffectiveness. Read it beside
``rank_distance_norm`` (the same divided by that expectation) and
``rank_distance_pairs`` (the mean pairwise gap).

Source. Elmahdy et al. (2024, arXiv:2408.10536) report rank distance on
XQuAD-R and MLQA-R for hybrid batch training and say they follow Huang et al.
(2023). The Huang et al. (2023) paper that analyses the language bias of
multilingual dense retrievers is most likely KD-SPD (Huang, Zeng, Zamani &
Allan, SIGIR 2023, arXiv:2305.09025), whose abstract reports "less language
bias" for their model; the max - min form above is how this project reads the
measure. The defining paragraph of either paper could not be retrieved from
the stored sources this project can search, so the formula is not checked
against their text: if they average pairwise rank gaps instead, values differ
(max - min is the largest pairwise gap). Wherever this project's value stands
beside a paper's number it is labelled as this project's reading.

    @inproceedings{huang2023soft, title={Soft Prompt Decoding for Multilingual
      Dense Retrieval}, author={Huang, Zhiqi and Zeng, Hansi and Zamani, Hamed
      and Allan, James}, booktitle={Proceedings of the 46th International ACM
      SIGIR Conference on Research and Development in Information Retrieval},
      year={2023}, note={arXiv:2305.09025}}
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
