"""``benchmarks/run.py --quick`` runs end to end and reports every target with its interval.

A smoke run (three rounds): it proves the benchmark still runs against today's code and
that its report is complete, not what the numbers are; those come from ``make bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TARGET_ROWS = (
    "| same token: guard overhead ≤ 0.25x hand-rolled async |",
    "| never-seen token: ≤ 0.5x |",
    "| `ajwt.decode` never-seen HS256 ≤ 2.0x stdlib floor |",
    "| decorator on `async def` within 10% of the permission dependency |",
    "| thread-pool hops, async handlers |",
    "| memory bounded under floods |",
)


def test_quick_bench_reports_every_target(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    committed = (ROOT / "benchmarks" / "results.json").read_bytes()
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--no-server",
            "--no-stores",
            "--no-docs",
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for row in TARGET_ROWS:
        assert row in run.stdout, row
    assert (ROOT / "benchmarks" / "results.json").read_bytes() == committed, "--results must leave the committed file"

    summary = json.loads(results.read_text())
    targets = summary["targets"]
    assert targets["processes"] == 1
    assert targets["rounds"] == 3
    measures = [*targets["same_token"].values(), *targets["never_seen"].values(), targets["decorator"]]
    assert len(measures) == 5
    for measure in measures:
        assert measure["low"] <= measure["median"] <= measure["high"], measure
        assert measure["median"] > 0, measure
    rows = {row["name"]: row for row in summary["requests"]}
    assert {"bare", "hand_async", "apo_dep", "apo_perm", "apo_deco"} <= set(rows)
    for name, ratios in targets["vs_hand_rolled"].items():  # the focused ratios are the ones shown, marked
        assert rows[name]["label"].endswith(" †")
        assert (rows[name]["same_ratio"], rows[name]["fresh_ratio"]) == (ratios["same"], ratios["fresh"])
        assert "same_ratio_full" in rows[name]
    assert rows["apo_dep"]["same_ratio"] == targets["same_token"]["dependency"]["median"]
    assert set(targets["vs_hand_rolled"]) == {"apo_dep", "apo_perm", "apo_deco"}
    assert len(summary["raw"]["fresh"]["bare"]) == 3
    assert len(summary["raw"]["targets"]["same"]["apo_deco"]) == targets["rounds"]  # the verdicts can be re-derived
