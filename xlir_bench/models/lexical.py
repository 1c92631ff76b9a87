"""Lexical baseline: BM25 (bm25s) with a tokenizer for spaced and unspaced scripts.

Tokenizer (applied alike to questions and candidates):

1. Unicode NFKC, then case folding.
2. Runs of word characters (letters, digits *and combining marks*: Devanagari
   vowel signs and Thai vowels are marks, and ``\\w`` alone would cut words apart).
3. Scripts written without spaces (Thai, Lao, Khmer, Myanmar, Chinese and
   Japanese kana/kanji) are split into overlapping character bigrams, as
   Lucene's CJK analyzer does; a run of one character is kept as a unigram.

BM25 is Lucene's variant (k1=1.5, b=0.75). Its statistics (IDF, average
length) belong to the pool: each language pool and the multilingual union pool
get their own index, as a search engine over that pool would have.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


@lru_cache(maxsize=1)
def _token_pattern() -> re.Pattern[str]:
    marks = "".join(
        re.escape(chr(code)) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)).startswith("M")
    )
    word = rf"(?:(?![{_UNSPACED}])[^\W_]|[{marks}])+"
    return re.compile(rf"(?P<unspaced>[{_UNSPACED}]+)|(?P<word>{word})")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; character bigrams for scripts written without spaces."""
    tokens: list[str] = []
    for match in _token_pattern().finditer(unicodedata.normalize("NFKC", text).casefold()):
        run = match.group("unspaced")
        if run is None:
            tokens.append(match.group("word"))
        elif len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


class BM25Index:
    """A bm25s index over one pool; scores every candidate for every query."""

    approximate = False

    def __init__(self, passages: Sequence[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s

        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        self._bm25.index(list(passages), show_progress=False)
        scores = self._bm25.scores
        self._vocab: dict[str, int] = self._bm25.vocab_dict
        # bm25s keeps a (docs x terms) CSC matrix of per-term BM25 weights; a sparse
        # product scores all queries at once, exactly as bm25s.get_scores sums them.
        self._weights = sp.csc_matrix(
            (scores["data"], scores["indices"], scores["indptr"]), shape=(scores["num_docs"], len(scores["indptr"]) - 1)
        )
        self.ntotal = scores["num_docs"]

    def scores(self, queries: Sequence[list[str]]) -> np.ndarray:
        rows, cols = [], []
        for row, tokens in enumerate(queries):
            ids = [self._vocab[token] for token in tokens if token in self._vocab]
            rows += [row] * len(ids)
            cols += ids
        counts = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(queries), self._weights.shape[1])
        )
        return np.asarray((counts @ self._weights.T).toarray(), dtype=np.float32)


class BM25Retriever:
    """The BM25 baseline as a retriever: representing a text is tokenising it; each pool gets its own index."""

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75, progress: bool = True) -> None:
        self.k1, self.b = k1, b
        self.progress = progress

    @property
    def fingerprint(self) -> str:
        import bm25s

        source = hashlib.sha256((_UNSPACED + tokenize.__doc__).encode()).hexdigest()[:8]
        return hashlib.sha256(f"bm25s-{bm25s.__version__}-lucene-{self.k1}-{self.b}-{source}".encode()).hexdigest()[:16]

    def represent_queries(self, texts: Sequence[str]) -> list[list[str]]:
        return self._tokenize(texts, "tokenize queries")

    def represent_passages(self, texts: Sequence[str]) -> list[list[str]]:
        return self._tokenize(texts, "tokenize passages")

    def check(self, where: str, queries: list[list[str]], passages: list[list[str]]) -> None:
        """Token lists are always usable."""

    def build_index(self, parts: Sequence[list[list[str]]]) -> BM25Index:
        return BM25Index([tokens for part in parts for tokens in part], self.k1, self.b)

    def describe(self) -> dict[str, str]:
        return {"kind": "lexical", "index": "bm25"}

    def _tokenize(self, texts: Sequence[str], desc: str) -> list[list[str]]:
        from xlir_bench.models.encoders import _batches

        return [tokenize(text) for batch in _batches(texts, 2048, desc, self.progress) for text in batch]
