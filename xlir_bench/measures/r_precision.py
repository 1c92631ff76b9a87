"""R-precision: precision at rank R, where R is the query's number of relevant candidates.

    R-precision = |{i : r_i <= R}| / R

for a query with R >= 1 relevant candidates at pool ranks r_1..r_R (undefined,
NaN, for R = 0, where trec_eval skips the query). Equals trec_eval's ``Rprec``
on a run that ranks the whole pool with trec_eval's tie rule. In a multilingual
pool with one relevant answer per language it is the share of the R parallel
answers that precede every irrelevant candidate ranked above rank R; it is 1
exactly when the query is strongly aligned.

    @incollection{buckley2005retrieval, title={Retrieval System Evaluation},
      author={Buckley, Chris and Voorhees, Ellen M.}, booktitle={TREC:
      Experiment and Evaluation in Information Retrieval}, editor={Voorhees,
      Ellen M. and Harman, Donna K.}, publisher={MIT Press}, pages={53--75},
      year={2005}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def r_precision(ranks: np.ndarray) -> np.ndarray:
    """Per-query R-precision from the padded ``ranks`` array; NaN without relevant candidates."""
    r = n_relevant(ranks)
    hits = (ranks <= r[:, None]).sum(axis=1)
    return np.where(r > 0, hits / np.maximum(r, 1), np.nan)
