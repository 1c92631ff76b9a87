"""Average precision over the whole candidate pool (LAReQA's headline measure).

For a query with R relevant candidates at pool ranks r_1 < ... < r_R:

    AP = (1/R) * sum_{i=1..R} i / r_i

i.e. the mean of the precision at the rank of each relevant candidate. No
cut-off: every relevant candidate's rank in the full pool counts, so AP equals
trec_eval's ``map`` on a run that ranks the entire pool. mAP is the mean of AP
over queries.

    @article{roy2020lareqa, title={LAReQA: Language-agnostic answer retrieval
      from a multilingual pool}, author={Roy, Uma and Constant, Noah and
      Al-Rfou, Rami and Barua, Aditya and Phillips, Aaron and Yang, Yinfei},
      journal={arXiv preprint arXiv:2004.05484}, year={2020}}
    @article{harman1992evaluation, title={Evaluation Issues in Information
      Retrieval}, author={Harman, Donna}, journal={Information Processing and
      Management}, volume={28}, number={4}, pages={439--440}, year={1992}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def average_precision(ranks: np.ndarray) -> np.ndarray:
    """Per-query AP from the padded ``ranks`` array (see ``_ranks``)."""
    ordered = np.sort(ranks, axis=1)
    position = np.arange(1, ordered.shape[1] + 1)
    precision = np.where(np.isfinite(ordered), position / ordered, 0.0)
    return precision.sum(axis=1) / np.maximum(n_relevant(ranks), 1)
