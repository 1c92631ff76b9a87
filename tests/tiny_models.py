"""Tiny real models built on the fly (no hub): a 2-layer BERT sentence-transformer, and plug-in encoders."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np


def build_tiny_sentence_transformer(folder: Path, seed: int = 0) -> Path:
    """Save a randomly initialised 2-layer BERT with mean pooling as a sentence-transformers folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(seed)
    pieces = list(string.ascii_lowercase + string.digits)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *pieces, *("##" + p for p in pieces)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    bert_dir = folder / "bert"
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir), max_seq_length=64)
    dim = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    pooling = models.Pooling(dim(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    out = folder / "st"
    model.save(str(out))
    return out


class _HashEncoder:
    """Deterministic bag-of-characters encoder, for tests of the plug-in path and its failure modes."""

    name = "hash"
    fingerprint = "hash-v1"
    query_dim = 16
    passage_dim = 16

    def _embed(self, texts, dim):
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                out[row, ord(char) % dim] += 1.0
        return out

    def encode_queries(self, texts):
        return self._embed(texts, self.query_dim)

    def encode_passages(self, texts):
        return self._embed(texts, self.passage_dim)


class MismatchedEncoder(_HashEncoder):
    passage_dim = 8


class NaNEncoder(_HashEncoder):
    def encode_passages(self, texts):
        out = super().encode_passages(texts)
        out[len(out) // 2, 0] = np.nan
        return out


class CountingHashEncoder(_HashEncoder):
    """Counts the texts that reach the model (after the cache)."""

    def __init__(self):
        self.seen: list[str] = []

    def encode_queries(self, texts):
        self.seen += list(texts)
        return super().encode_queries(texts)

    def encode_passages(self, texts):
        self.seen += list(texts)
        return super().encode_passages(texts)


class ProjectionEncoder(_HashEncoder):
    """Sum of fixed random vectors per character: continuous scores (no accidental ties), still deterministic."""

    name = "projection"
    fingerprint = "projection-v1"
    _table = np.random.default_rng(0).standard_normal((4096, 32)).astype(np.float32)

    def _embed(self, texts, dim):
        out = np.stack(
            [
                self._table[[ord(c) % 4096 for c in text]].sum(axis=0) if text else np.zeros(32, np.float32)
                for text in texts
            ]
        )
        return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)).astype(np.float32)


class ShortEncoder(_HashEncoder):
    """Returns one row too few: the harness must refuse it before anything is cached."""

    fingerprint = "short-v1"

    def encode_passages(self, texts):
        return super().encode_passages(texts)[:-1]


def RaisingFactory():  # noqa: N802 - named like the classes it stands beside
    raise RuntimeError("weights missing: /models/x.bin")


class RaisingEncoder(_HashEncoder):
    def encode_passages(self, texts):
        raise MemoryError


class CrashingEncoder(_HashEncoder):
    def encode_passages(self, texts):
        raise RuntimeError("CUDA error: device-side assert")


class StringEncoder(_HashEncoder):
    def encode_passages(self, texts):
        return "not vectors"


class CubeEncoder(_HashEncoder):
    def encode_passages(self, texts):
        return np.ones((len(texts), 2, 2), np.float32)


class HugeEncoder(_HashEncoder):
    fingerprint = "huge-v1"

    def _embed(self, texts, dim):
        return super()._embed(texts, dim) * 1e30


class FloatFingerprint(_HashEncoder):
    fingerprint = 1.5


class ZeroDimEncoder(_HashEncoder):
    fingerprint = "zero-dim-v1"

    def _embed(self, texts, dim):
        return np.zeros((len(texts), 0), np.float32)
