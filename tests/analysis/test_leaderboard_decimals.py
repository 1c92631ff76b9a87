"""Rank distances print to one decimal in every leaderboard format; ratios and scores to four."""

from __future__ import annotations

import json
import re

from test_leaderboard import make_record

from xlir_bench.analysis.leaderboard import leaderboard, render

# multi macros as a run record holds them: two counts of ranks, one ratio
RANKS = {"rank_distance": 2692.4816, "rank_distance_pairs": 393.7352, "rank_distance_norm": 0.719312}


def _board(tmp_path):
    record = make_record("m", "f" * 16, 0.5, 0.4, 0.3)
    record["results"]["xquad-r"]["macro"]["multi"] |= RANKS
    path = tmp_path / "m.json"
    path.write_text(json.dumps(record))
    return leaderboard([path])


def test_markdown_rounds_rank_distances_to_one_decimal(tmp_path):
    row = next(line for line in render(_board(tmp_path), "md").splitlines() if line.startswith("| 1"))
    cells = [cell.strip() for cell in row.split("|")]
    assert "2692.5" in cells and "393.7" in cells  # both rank-distance columns
    assert "0.7193" in cells  # the ratio to chance keeps four
    assert "2692.4816" not in row and "393.7352" not in row


def test_html_rounds_rank_distances_to_one_decimal(tmp_path):
    page = render(_board(tmp_path), "html")
    shown = re.findall(r">\s*([0-9]+\.[0-9]+)\s*<", page)
    assert "2692.5" in shown and "393.7" in shown and "0.7193" in shown
    assert "2692.4816" not in shown and "393.7352" not in shown
