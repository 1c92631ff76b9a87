"""A setting's judgements as one value object (ranx's Qrels, BEIR's qrels dict): who asks, what is relevant, where.

Built once per setting from the loaded task: the judged queries (those with a
candidate at or above the relevance threshold in the pool), the pool's candidate
ids and languages, each query's judged pool positions and grades. Scoring, TREC
export and the language-bias measures all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from xlir_bench.core.constants import MULTI_POOL
from xlir_bench.core.errors import XlirError
from xlir_bench.data.tasks import Setting, Task


@dataclass(frozen=True)
class Pool:
    """The candidates of one pool in scoring order: ids, languages, and where each language starts."""

    candidate_ids: list[str]
    langs: np.ndarray
    offsets: dict[str, int]
    # a pair corpus (MTEB's MLQA): the language pool's candidates this pool keeps, as columns of its index
    columns: np.ndarray | None = None

    @classmethod
    def of(cls, task: Task, pool_langs: tuple[str, ...]) -> Pool:
        offsets, start = {}, 0
        for lang in pool_langs:
            offsets[lang] = start
            start += len(task.data[lang].candidates)
        ids = [cid for lang in pool_langs for cid in task.data[lang].candidate_ids]
        langs = np.array([lang for lang in pool_langs for _ in task.data[lang].candidates], dtype=object)
        return cls(ids, langs, offsets)

    @classmethod
    def subset(cls, task: Task, lang: str, keep: list[int]) -> Pool:
        ids = task.data[lang].candidate_ids
        return cls([ids[i] for i in keep], np.array([lang] * len(keep), dtype=object), {lang: 0}, np.asarray(keep))

    def check_trec_order(self, where: str) -> None:
        """Ties are ranked by the larger position first; that is trec_eval's rule only if ids sort like positions."""
        ids = self.candidate_ids
        if any(a >= b for a, b in zip(ids, ids[1:], strict=False)):
            raise XlirError(
                f"{where}: candidate ids do not sort like their pool order, so ties would rank differently from "
                "trec_eval (larger docno first); give candidates ids that sort by language, e.g. prefixed with it"
            )


@dataclass(frozen=True)
class Judgements:
    """Judged queries of one setting and, per query, the pool positions, grades and languages of its judged candidates."""

    query_lang: str
    query_ids: list[str]
    rows: np.ndarray  # each judged query's row among the language's questions
    pool: Pool
    positions: np.ndarray  # (queries, width) pool positions, -1 padding
    grades: np.ndarray  # (queries, width) grades > 0, 0 padding
    threshold: float
    measures: tuple[str, ...] = ()  # opt-in measures the task file asks for (e.g. XTREME-R's map@20)

    @classmethod
    def for_setting(
        cls, task: Task, setting: Setting, pool: Pool, memo: dict[tuple, tuple] | None = None
    ) -> Judgements:
        """The setting's judged queries; ``memo`` shares each (query language, pool language) table across settings."""
        data = task.data[setting.query_lang]
        memo = {} if memo is None else memo
        tables = []
        for lang in setting.pool_langs:
            if (setting.query_lang, lang) not in memo:
                memo[setting.query_lang, lang] = _relevant_in(task, setting.query_lang, lang, memo)
            positions, grades = memo[setting.query_lang, lang]
            tables.append((np.where(positions >= 0, positions + pool.offsets[lang], -1), grades))
        positions = np.hstack([p for p, _ in tables])
        grades = np.hstack([g for _, g in tables])
        if pool.columns is not None:  # positions in the language pool -> positions in the pair corpus
            local = np.full(len(task.data[setting.pool].candidates), -1)
            local[pool.columns] = np.arange(len(pool.columns))
            positions = np.where(positions >= 0, local[np.maximum(positions, 0)], -1)
            grades = np.where(positions >= 0, grades, 0.0)
        # judged pairs first, in table order; padding (-1, 0) after them
        order = np.argsort(positions < 0, axis=1, kind="stable")
        positions = np.take_along_axis(positions, order, axis=1)
        grades = np.take_along_axis(grades, order, axis=1)
        rows = np.flatnonzero((grades >= task.spec.relevance_threshold).any(axis=1))
        width = int((positions[rows] >= 0).sum(axis=1).max()) if rows.size else 0
        query_ids = [data.question_ids[r] for r in rows]
        return cls(
            setting.query_lang,
            query_ids,
            rows.astype(np.int64),
            pool,
            positions[rows, :width].astype(np.int64),
            grades[rows, :width].astype(np.float64),
            task.spec.relevance_threshold,
            tuple(task.spec.options.get("measures", ())),
        )

    @cached_property
    def rel_langs(self) -> np.ndarray:
        """Language of each judged candidate, "" for padding."""
        return np.where(self.positions >= 0, self.pool.langs[np.maximum(self.positions, 0)], "").astype(object)

    @property
    def pool_share(self) -> float:
        return float(np.mean(self.pool.langs == self.query_lang))

    def block(self, rows: slice) -> Judgements:
        """The judgements of a block of consecutive queries (blocked scoring)."""
        return Judgements(
            self.query_lang,
            self.query_ids[rows],
            self.rows[rows],
            self.pool,
            self.positions[rows],
            self.grades[rows],
            self.threshold,
            self.measures,
        )

    def qrels(self) -> dict[str, dict[str, int]]:
        """{query id: {candidate id: grade}}: the TREC qrels of this setting."""
        ids = self.pool.candidate_ids
        return {
            qid: {
                ids[p]: int(g) if float(g).is_integer() else float(g) for p, g in zip(pos, grade, strict=True) if p >= 0
            }
            for qid, pos, grade in zip(self.query_ids, self.positions, self.grades, strict=True)
        }


def _relevant_in(task: Task, query_lang: str, lang: str, memo: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For every question of ``query_lang``: positions (in ``lang``'s pool) and grades > 0 of its candidates there.

    Two (questions, width) arrays in qrels order, padded with -1 and 0. ``memo`` keeps each
    pool language's judgements in CSR form, so a language is walked once, not once per query language.
    """
    memo = {} if memo is None else memo
    if (lang,) not in memo:
        memo[(lang,)] = _QrelsTable.of(task.data[lang].qrels)
    table = memo[(lang,)]
    rows = np.fromiter((table.row_of.get(qid, -1) for qid in task.data[query_lang].question_ids), dtype=np.int64)
    found = rows >= 0
    starts = np.where(found, table.starts[np.maximum(rows, 0)], 0)
    counts = np.where(found, table.starts[np.maximum(rows, 0) + 1] - starts, 0)
    width = int(counts.max(initial=0))
    positions = np.full((len(rows), width), -1, dtype=np.int64)
    grades = np.zeros((len(rows), width))
    for column in range(width):  # width is the most judged candidates of a question: 1 for LAReQA
        has = counts > column
        positions[has, column] = table.positions[starts[has] + column]
        grades[has, column] = table.grades[starts[has] + column]
    return positions, grades


@dataclass(frozen=True)
class _QrelsTable:
    """One language's positive judgements as CSR arrays: question ``row_of[qid]`` owns ``starts[row]:starts[row + 1]``."""

    row_of: dict[str, int]
    starts: np.ndarray
    positions: np.ndarray
    grades: np.ndarray

    @classmethod
    def of(cls, qrels: dict[str, dict[int, float]]) -> _QrelsTable:
        row_of, starts, positions, grades = {}, [0], [], []
        for qid, judged in qrels.items():
            row_of[qid] = len(row_of)
            for position, grade in judged.items():
                if grade > 0:
                    positions.append(position)
                    grades.append(grade)
            starts.append(len(positions))
        return cls(
            row_of,
            np.asarray(starts, dtype=np.int64),
            np.asarray(positions, dtype=np.int64),
            np.asarray(grades, dtype=np.float64),
        )


def setting_pool(task: Task, setting: Setting, pools: dict[str, Pool]) -> Pool:
    """The pool a setting searches: its language's (or the union), or that language's pair corpus for the query language."""
    keep = None if setting.pool == MULTI_POOL else task.data[setting.pool].pool_for.get(setting.query_lang)
    return pools[setting.pool] if keep is None else Pool.subset(task, setting.pool, keep)


def pools_of(task: Task, settings: list[Setting]) -> dict[str, Pool]:
    """One pool per language the settings search, and the multilingual union (languages in code order)."""
    pools = {}
    for name in dict.fromkeys(setting.pool for setting in settings):
        langs = tuple(sorted(task.langs)) if name == MULTI_POOL else (name,)
        pools[name] = Pool.of(task, langs)
        if name == MULTI_POOL:
            pools[name].check_trec_order(f"{task.name} multilingual pool")
    return pools
