"""A 384-dimensional bag-of-characters encoder (e5-small's width): a stand-in model for timing everything *but*
encoding. Encoding it is nearly free, so a cache fills in seconds, and a warm run then exercises the same search,
scoring, measures and intervals as a real dense model of that width.

    PYTHONPATH=benchmarks python benchmarks/pipeline_overhead.py --model py:hash384:Hash384 --cache-dir C  # fill
    PYTHONPATH=benchmarks python benchmarks/pipeline_overhead.py --model py:hash384:Hash384 --warm-cache C
"""

from __future__ import annotations

import numpy as np


class Hash384:
    name = "hash384"
    fingerprint = "hash384-v1"

    def _embed(self, texts):
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) % 384
            out[row] = np.bincount(codes, minlength=384)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def encode_queries(self, texts):
        return self._embed(texts)

    def encode_passages(self, texts):
        return self._embed(texts)
