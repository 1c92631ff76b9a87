"""Rank matrix: where a query's relevant candidate in each pool language lands in the multilingual pool.

For a query in language X and a pool language Y, let r_Y be the pool rank of
the query's relevant candidate in language Y (the best-ranked one if Y holds
several; undefined when Y holds none). Per query this gives one row
(r_Y for Y in the pool languages); over the queries in X,

    mean rank(X -> Y)   = mean of r_Y over the queries in X where r_Y is defined
    median rank(X -> Y) = their median

A language-agnostic model gives a flat row for each X (every Y near the same
rank); a model that prefers the query's language has its smallest value on the
diagonal Y = X. The X x Y table is this summary for each query language X. It
is the per-language breakdown of rank distance (see ``rank_distance``), as in
the language-bias analyses of Huang et al. (2023) and Elmahdy et al. (2024).

    @inproceedings{huang2023soft, title={Soft Prompt Decoding for Multilingual
      Dense Retrieval}, author={Huang, Zhiqi and Zeng, Hansi and Zamani, Hamed
      and Allan, James}, booktitle={Proceedings of SIGIR},
      year={2023}, note={arXiv:2305.09025}}
    @article{elmahdy2024synergistic, title={Synergistic Approach for
      Simultaneous Optimization of Monolingual, Cross-lingual, and Multilingual
      Information Retrieval}, author={Elmahdy, Adel and Lin, Sheng-Chieh and
      Ahmad, Amin}, journal={arXiv preprint arXiv:2408.10536}, year={2024}}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def rank_by_language(ranks: np.ndarray, rel_langs: np.ndarray, langs: Sequence[str]) -> np.ndarray:
    """Per-query pool rank of the relevant candidate in each of ``langs``: (queries, len(langs)), NaN where none.

    ``rel_langs`` is (queries, max relevant), aligned with ``ranks`` ("" for padding).
    """
    out = np.full((ranks.shape[0], len(langs)), np.nan)
    finite = np.isfinite(ranks)
    for j, lang in enumerate(langs):
        in_lang = finite & (rel_langs == lang)
        best = np.where(in_lang, ranks, np.inf).min(axis=1)
        out[:, j] = np.where(in_lang.any(axis=1), best, np.nan)
    return out


def summarize_rank_matrix(per_query: np.ndarray, langs: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Mean and median over queries of each language's column: {Y: {"mean": ..., "median": ...}}, None when empty."""
    summary: dict[str, dict[str, float | None]] = {}
    for j, lang in enumerate(langs):
        column = per_query[:, j]
        column = column[~np.isnan(column)]
        defined = column.size > 0
        summary[lang] = {
            "mean": float(column.mean()) if defined else None,
            "median": float(np.median(column)) if defined else None,
        }
    return summary
