"""BM25 baseline: tokenizer on fixed multilingual inputs, and scores against bm25s itself."""

from __future__ import annotations

import bm25s
import numpy as np

from xlir_bench.models.lexical import BM25Index, tokenize


def test_space_separated_scripts_keep_combining_marks():
    assert tokenize("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # virama and vowel signs stay inside the word
    assert tokenize("Ελληνικά, Straße!") == ["ελληνικά", "strasse"]
    assert tokenize("العربية لغة") == ["العربية", "لغة"]
    assert tokenize("ＡＢＣ 123") == ["abc", "123"]  # NFKC folds full-width forms


def test_unspaced_scripts_become_character_bigrams():
    assert tokenize("中文字") == ["中文", "文字"]
    assert tokenize("ทีมรับ") == ["ที", "ีม", "มร", "รั", "ับ"]
    assert tokenize("在1990年") == ["在", "1990", "年"]
    assert tokenize("Super Bowl 50的冠军") == ["super", "bowl", "50", "的冠", "冠军"]


def test_sparse_scores_equal_bm25s_get_scores():
    corpus = ["the cat sat on the mat", "a dog and a cat", "中文字 文字", "nothing here at all", "cat cat cat"]
    tokens = [tokenize(text) for text in corpus]
    index = BM25Index(tokens)
    queries = [tokenize(q) for q in ["cat on mat", "dog dog", "文字", "the cat unknownword"]]
    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index(tokens, show_progress=False)
    expected = np.stack([reference.get_scores([t for t in q if t in reference.vocab_dict]) for q in queries])
    np.testing.assert_allclose(index.scores(queries), expected, rtol=1e-6, atol=1e-7)
    assert index.scores([["unknownword"]]).tolist() == [[0.0] * len(corpus)]
