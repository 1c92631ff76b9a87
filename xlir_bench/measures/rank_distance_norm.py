"""Normalised rank distance: rank distance as a multiple of its value under random ranking.

Rank distance (max_i r_i - min_i r_i over a question's R relevant candidates,
:mod:`xlir_bench.measures.rank_distance`) grows with plain ineffectiveness as
well as with language bias: a model that ranks the answers anywhere gets a large
value without preferring any language. For R relevant candidates placed
uniformly at random among the N pool positions (R distinct ranks drawn without
replacement from 1..N), the order statistics give E[max] = R(N+1)/(R+1) and
E[min] = (N+1)/(R+1) (e.g. David & Nagaraja 2003, Sec. 2.3 on the uniform
order statistics of a random subset), so

    E = E[max - min] = (N + 1)(R - 1)/(R + 1)
    rank_distance_norm = (max_i r_i - min_i r_i) / E

per query with R >= 2 (NaN otherwise). 1 = what random ranking gives on
average; (R - 1)/E = all R answers side by side (the smallest possible value);
above 1 = the answers are spread further apart than chance. On XQuAD-R (N =
13,014 sentences in the 11-language pool, R = 11) E = 10,845.8; on MLQA-R R is
2 to 7 and N depends on the setting. This normalisation is this project's reading,
not a measure the LAReQA or hybrid-batch papers report.

    @book{david2003order, title={Order Statistics}, author={David, Herbert A.
      and Nagaraja, Haikady N.}, edition={3}, publisher={Wiley}, year={2003}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant
from .rank_distance import rank_distance


def chance_rank_distance(pool_size: int, relevant: np.ndarray) -> np.ndarray:
    """E[max - min] of R distinct uniform ranks in 1..N: (N + 1)(R - 1)/(R + 1), per query."""
    r = np.asarray(relevant, dtype=np.float64)
    return (pool_size + 1) * (r - 1) / (r + 1)


def rank_distance_norm(ranks: np.ndarray, pool_size: int) -> np.ndarray:
    """Per-query rank distance / its expectation under random ranking; NaN where fewer than two relevant."""
    r = n_relevant(ranks)
    expected = chance_rank_distance(pool_size, r)
    return np.where(r >= 2, rank_distance(ranks) / np.where(r >= 2, expected, 1.0), np.nan)
