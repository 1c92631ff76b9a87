"""Same-language share of the top k, against that language's share of the pool.

For a query in language X searching the multilingual pool:

    same_lang_top10_share = |{top-10 candidates in language X}| / 10
    same_lang_pool_share  = |{pool candidates in language X}| / |pool|

A language-agnostic retriever keeps the first near the share of X's *relevant*
candidates among all retrieved answers, not far above the second; a value
well above the pool share shows the model prefers the query's own language.

    @inproceedings{roy2020lareqa, title={LAReQA: Language-agnostic answer
      retrieval from a multilingual pool}, author={Roy, Uma and others},
      year={2020}, note={same-language bias of multilingual pools, Sec. 5}}
"""

from __future__ import annotations

import numpy as np


def same_language_share(top_is_same_language: np.ndarray) -> np.ndarray:
    """Per-query share of the top-k that is in the query's language; input (queries, k) bool."""
    return top_is_same_language.mean(axis=1)
