"""The grid keys of a declared study (epochs, loss_scale, mixed, hypotheses, dev, --only) and their one-line errors."""

from __future__ import annotations

import pytest
import test_sweep
from test_sweep import GOOD, write_grid

from xlir_bench import XlirError
from xlir_bench.train.sweep import load_grid, select_cells

grid_dir = test_sweep.grid_dir  # the sweep tests' fixture: a model folder, de/es pairs, the data mirror

HYP = (
    '[[hypotheses]]\nid = "H1"\nclaim = "c"\nkind = "noninferior"\ntask = "xquad-r"\nmeasure = "map"\narm = "hybrid"\n'
)


def test_epochs_give_every_strategy_the_same_steps_and_the_usual_scale_stays_unnamed(grid_dir):
    body = GOOD.replace("steps = 3\n", "epochs = 2.0\nloss_scale = 100.0\n")
    body += '[[grid]]\nstrategy = ["mono", "cross", "mixed"]\n[[grid]]\nstrategy = "mixed"\nloss_scale = 20.0\n'
    grid = load_grid(write_grid(grid_dir, body))
    # 8 pairs (4 mono, 4 cross), batch 2: ceil(2.0 * 8 / 2) = 8 steps, mono and cross alike
    assert {c.name: c.options["steps"] for c in grid.cells} == {
        "mono-s42": 8,
        "cross-s42": 8,
        "mixed-s42": 8,
        "mixed-scale20-s42": 8,
    }


def test_hypotheses_must_name_configurations_of_the_grid(grid_dir):
    body = GOOD + '[[grid]]\nstrategy = ["hybrid", "mono"]\n' + HYP
    grid = load_grid(write_grid(grid_dir, body + 'versus = ["mono", "base"]\n'))
    assert grid.plan()["hypotheses"][0]["versus"] == ["mono", "base"]
    with pytest.raises(XlirError, match=r"hypotheses\[1\]\.versus: \['cros'\] must be configurations"):
        load_grid(write_grid(grid_dir, body + 'versus = ["cros"]\n'))
    with pytest.raises(XlirError, match=r"hypotheses\[1\]\.kind: 'better' must be one of"):
        load_grid(write_grid(grid_dir, body.replace('"noninferior"', '"better"') + 'versus = ["mono"]\n'))


def test_only_runs_named_cells_and_refuses_an_unknown_one(grid_dir):
    grid = load_grid(write_grid(grid_dir, GOOD + '[[grid]]\nstrategy = ["hybrid", "mono"]\n'))
    chosen = select_cells(grid, ["mono-s42", "base"])
    assert [c.name for c in chosen.cells] == ["mono-s42"] and chosen.reference
    grid = load_grid(write_grid(grid_dir, GOOD + '[[grid]]\nstrategy = ["hybrid", "mono"]\n'))
    with pytest.raises(XlirError, match="--only mono-s4: not a cell of .*did you mean 'mono-s42'"):
        select_cells(grid, ["mono-s4"])


def test_a_dev_table_needs_a_task(grid_dir):
    with pytest.raises(XlirError, match="dev: missing task"):
        load_grid(write_grid(grid_dir, GOOD + "[dev]\narticles = 4\n"))
