"""Same-language-first: is the best-ranked relevant candidate in the query's language?

In a multilingual pool a question has one relevant candidate per language that
holds its parallel answer. For a query in language X with relevant candidates
at pool ranks r_1..r_R in languages l_1..l_R:

    same_lang_first = 1  if min{r_i : l_i = X} < min{r_i : l_i != X}
                      0  otherwise
                      undefined (NaN) when no relevant candidate is in X

A model that prefers its query's language scores near 1; a language-agnostic
model ranks the R parallel answers in no particular language order, so its
expected value is about 1/R. With exact pool ranks no two candidates share a
rank; under the depth-truncated ranks of an approximate search two relevant
candidates that were both not retrieved share the sentinel rank, and such a tie
counts as 0 (the first relevant candidate is not shown to be in X).

It makes per query the same-language preference that LAReQA shows for weakly
aligned models, whose nearest answers are those in the question's language
(Roy et al. 2020, Sec. 5).

    @inproceedings{roy2020lareqa, title={{LAReQA}: Language-agnostic Answer
      Retrieval from a Multilingual Pool}, author={Roy, Uma and Constant, Noah
      and Al-Rfou, Rami and Barua, Aditya and Phillips, Aaron and Yang,
      Yinfei}, booktitle={Proceedings of EMNLP}, year={2020}}
"""

from __future__ import annotations

import numpy as np


def same_lang_first(ranks: np.ndarray, rel_langs: np.ndarray, query_lang: str | np.ndarray) -> np.ndarray:
    """Per-query 1/0 (NaN where undefined) from padded ``ranks`` and the language of each relevant candidate.

    ``rel_langs`` is (queries, max relevant), aligned with ``ranks`` ("" for padding);
    ``query_lang`` is one language code or one per query.
    """
    finite = np.isfinite(ranks)
    same = finite & (rel_langs == np.asarray(query_lang)[..., None])
    best_same = np.where(same, ranks, np.inf).min(axis=1)
    best_other = np.where(finite & ~same, ranks, np.inf).min(axis=1)
    return np.where(same.any(axis=1), (best_same < best_other).astype(np.float64), np.nan)
