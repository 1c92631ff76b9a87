"""Task-level language-bias summaries, computed once every multilingual-pool setting of a task is scored.

* ``translation_consistency`` (per query, into each X -> all setting): RBO of a
  question's multilingual-pool top list with the same question's top list asked
  in each other language (see :mod:`xlir_bench.measures.translation_consistency`).
* ``rank_matrix``: for queries in X, the mean and median pool rank of the
  relevant candidate in each language Y (its diagonal is the bias).
* ``first_answer_language``: for queries in X, the share whose best-ranked
  relevant candidate is in language Y (a language-agnostic model spreads it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xlir_bench.measures.rank_matrix import summarize_rank_matrix
from xlir_bench.measures.translation_consistency import translation_consistency

CONSISTENCY_DEPTH = 100
CONSISTENCY_P = 0.9


def task_bias(outcomes: list[Any]) -> dict[str, Any]:
    """Fill translation consistency into the multilingual outcomes; return the rank matrix and first-answer shares."""
    multi = [o for o in outcomes if o.setting.family == "multi" and o.top_positions is not None]
    if not multi:
        return {}
    depth = min(CONSISTENCY_DEPTH, multi[0].top_positions.shape[1])
    tops = {o.setting.query_lang: (o.scores.query_ids, o.top_positions[:, :depth]) for o in multi}
    consistency = translation_consistency(tops, p=CONSISTENCY_P, depth=depth) if depth > 0 else {}
    langs = list(multi[0].judgements.pool.offsets)
    rank_matrix, first = {}, {}
    for outcome in multi:
        lang = outcome.setting.query_lang
        if lang in consistency:
            outcome.scores.per_query["translation_consistency"] = consistency[lang][1]
        rank_matrix[lang] = summarize_rank_matrix(outcome.scores.lang_ranks, langs)
        first[lang] = _first_answer_shares(outcome.scores.lang_ranks, langs)
    return {"pool_langs": langs, "rank_matrix": rank_matrix, "first_answer_language": first, "consistency_depth": depth}


def _first_answer_shares(lang_ranks: np.ndarray, langs: list[str]) -> dict[str, float]:
    """Share of queries whose best-ranked relevant candidate is in each language (queries with none left out)."""
    has = ~np.all(np.isnan(lang_ranks), axis=1)
    if not has.any():
        return dict.fromkeys(langs, 0.0)
    best = np.nanargmin(np.where(np.isnan(lang_ranks[has]), np.inf, lang_ranks[has]), axis=1)
    counts = np.bincount(best, minlength=len(langs))
    return {lang: float(counts[j] / has.sum()) for j, lang in enumerate(langs)}
