"""The declared analysis: chance-level rank distance, verdicts of the seed-level tests on hand-made arms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from xlir_bench.analysis.study_analysis import conclusions, expected_rank_distance, test_hypothesis

test_hypothesis.__test__ = False  # a library function named test_*, not a pytest test


@pytest.mark.parametrize(("pool", "relevant"), [(5, 2), (7, 3), (9, 4)])
def test_expected_rank_distance_equals_enumeration(pool, relevant):
    spans = [max(c) - min(c) for c in itertools.combinations(range(1, pool + 1), relevant)]
    assert expected_rank_distance(pool, relevant) == pytest.approx(np.mean(spans))


HYBRID = [0.520, 0.522, 0.524, 0.521, 0.523]  # mean .522
CROSS = [0.519, 0.521, 0.523, 0.520, 0.522]  # mean .521
MONO = [0.500, 0.502, 0.504, 0.501, 0.503]  # mean .502
NI = {"id": "H", "claim": "c", "kind": "noninferior", "task": "t", "measure": "map", "arm": "hybrid"}


def test_noninferiority_is_supported_when_every_comparator_is_beaten_within_the_margin():
    arms = {"hybrid": {"map": HYBRID}, "cross": {"map": CROSS}, "mono": {"map": MONO}}
    got = test_hypothesis({**NI, "versus": ["mono", "cross"]}, arms, 0.05, 0.005)
    # the better comparator is cross; d = +0.001, se = sqrt(2 * var/5) with var = 0.00025^2 * 10 = 2.5e-6
    assert got["comparator"] == "cross" and got["estimate"] == pytest.approx(0.001)
    assert got["verdict"] == "supported" and got["p"] < 0.001


def test_noninferiority_is_refuted_when_the_interval_lies_below_minus_margin():
    arms = {"mono": {"map": MONO}, "cross": {"map": CROSS}}
    got = test_hypothesis({**NI, "arm": "mono", "versus": ["cross"]}, arms, 0.05, 0.005)
    assert got["estimate"] == pytest.approx(-0.019) and got["interval"][1] < -0.005
    assert got["verdict"] == "refuted"
    assert conclusions({"hypotheses": [got]})[0].startswith("H refuted")


def test_a_difference_inside_the_noise_is_inconclusive_with_its_detectable_difference():
    noisy = [0.50, 0.53, 0.49, 0.52, 0.51]  # sd ~.016 against a margin of .005
    arms = {"hybrid": {"map": noisy}, "cross": {"map": [0.51, 0.52, 0.50, 0.53, 0.505]}}
    got = test_hypothesis({**NI, "versus": ["cross"]}, arms, 0.05, 0.005)
    assert got["verdict"] == "inconclusive" and got["mdd"] > 0.01
    assert "80 % power" in conclusions({"hypotheses": [got]})[0]


def test_superiority_over_the_untrained_base_uses_a_one_sample_test():
    arms = {"hybrid": {"map": HYBRID}, "base": {"map": [0.30]}}
    got = test_hypothesis({**NI, "kind": "higher", "versus": ["base"]}, arms, 0.05, 0.005)
    assert got["verdict"] == "supported" and got["estimate"] == pytest.approx(0.222)
    assert got["p_permutation"] is None  # no permutation against a single value


def test_too_few_seeds_is_not_run():
    got = test_hypothesis({**NI, "versus": ["cross"]}, {"hybrid": {"map": [0.5]}, "cross": {"map": CROSS}}, 0.05, 0.005)
    assert got["verdict"] == "not run" and "hybrid" in got["why"]
