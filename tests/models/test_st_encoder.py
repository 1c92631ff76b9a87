"""The sentence-transformers adapter: the model's own similarity function, and fingerprints of fp16/bf16 weights."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from xlir_bench.core.errors import XlirError
from xlir_bench.models.encoders import SentenceTransformerEncoder, _digest

pytest.importorskip("sentence_transformers")
TEXTS = ["wer schrieb faust", "goethe schrieb faust 1808", "the capital of france is paris"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_models import build_tiny_sentence_transformer

    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny"))


def _resaved(folder, target, similarity):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    model.similarity_fn_name = similarity
    model.save(str(target))
    return target, model


def test_dot_product_model_is_not_normalised(tiny, tmp_path):
    folder, model = _resaved(tiny, tmp_path / "dot", "dot")
    encoder = SentenceTransformerEncoder(str(folder), progress=False)
    raw = model.encode(TEXTS, normalize_embeddings=False, convert_to_numpy=True)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)  # the test means something
    got = encoder.encode_passages(TEXTS)
    np.testing.assert_allclose(got, raw, rtol=1e-5, atol=1e-6)
    assert encoder.normalize is False


def test_cosine_model_is_normalised(tiny, tmp_path):
    folder, _ = _resaved(tiny, tmp_path / "cos", "cosine")
    got = SentenceTransformerEncoder(str(folder), progress=False).encode_queries(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_explicit_normalize_overrides_the_model(tiny, tmp_path):
    folder, _ = _resaved(tiny, tmp_path / "dot", "dot")
    got = SentenceTransformerEncoder(str(folder), progress=False, normalize=True).encode_queries(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_distance_model_is_refused(tiny, tmp_path):
    folder, _ = _resaved(tiny, tmp_path / "euclid", "euclidean")
    with pytest.raises(XlirError, match="similarity function is euclidean"):
        SentenceTransformerEncoder(str(folder), progress=False)


def _fp32_fingerprint_the_old_way(encoder):
    """The fingerprint as numpy computed it before half precision was supported (a second implementation)."""
    weights = hashlib.sha256()
    for key, tensor in sorted(encoder._model.state_dict().items()):
        weights.update(key.encode())
        weights.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    options = (encoder.query_prompt, encoder.passage_prompt, encoder.normalize, encoder._model.max_seq_length)
    return _digest("sentence-transformers", weights.hexdigest(), options)


def test_fingerprint_of_half_precision_weights(tiny):
    import torch

    fp32 = SentenceTransformerEncoder(str(tiny), progress=False)
    assert fp32.fingerprint == _fp32_fingerprint_the_old_way(fp32)  # fp32 records and caches keep their keys
    prints = {"float32": fp32.fingerprint}
    for dtype in (torch.bfloat16, torch.float16):
        encoder = SentenceTransformerEncoder(str(tiny), progress=False)
        encoder._model.to(dtype)
        prints[str(dtype)] = encoder.fingerprint
        again = SentenceTransformerEncoder(str(tiny), progress=False)
        again._model.to(dtype)
        assert again.fingerprint == prints[str(dtype)]  # deterministic
    assert len(set(prints.values())) == 3, prints
