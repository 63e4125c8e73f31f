"""``benchmarks/run.py``: its report judges the targets right, and ``--quick`` runs end to end.

The smoke run (three rounds) proves the benchmark still runs against today's code and
that its report is complete, not what the numbers are; those come from ``make bench``.
The report's arithmetic and verdicts are checked on made-up rounds whose answers are known.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.servers import ROOT


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rounds(**costs: float) -> dict[str, list[float]]:
    """Five rounds per variant at a constant µs per request (the ratios are then exact)."""
    return {name: [cost] * 5 for name, cost in costs.items()}


def test_targets_are_overhead_over_bare_divided_by_the_base_overhead(bench: ModuleType) -> None:
    # bare 30 µs, hand-rolled 130 (100 over bare); the decorator is judged against the permission dependency.
    same = rounds(bare=30, hand_async=130, apo_dep=50, apo_perm=54, apo_deco=57.6)
    fresh = rounds(bare=30, hand_async=130, apo_dep=75, apo_perm=80, apo_deco=90)
    targets = bench.summarise_targets({"same": same, "fresh": fresh}, processes=1)
    assert targets["rounds"] == 5
    assert targets["same_token"]["dependency"] == {"median": 0.2, "low": 0.2, "high": 0.2}
    assert targets["same_token"]["permission"]["median"] == pytest.approx(0.24)
    assert targets["never_seen"]["dependency"]["median"] == pytest.approx(0.45)
    assert targets["never_seen"]["permission"]["median"] == pytest.approx(0.5)
    assert targets["decorator"]["median"] == pytest.approx(27.6 / 24)


def test_interval_brackets_the_median_of_noisy_rounds(bench: ModuleType) -> None:
    values = [0.40 + 0.01 * ((7 * i) % 19) for i in range(101)]
    low, high = bench.bootstrap_interval(values)
    assert low < statistics.median(values) < high
    assert (low, high) == bench.bootstrap_interval(values), "a fixed seed: the same rounds, the same interval"


def summary_with(*, same: float, same_perm: float, fresh: float, decorator: float) -> dict[str, Any]:
    def measure(value: float) -> dict[str, float]:
        return {"median": value, "low": value - 0.01, "high": value + 0.01}

    return {
        "requests": [{"name": "apo_dep", "hops": 0}, {"name": "apo_deco", "hops": 0}],
        "decode_vs_floor": 1.7,
        "targets": {
            "same_token": {"dependency": measure(same), "permission": measure(same_perm)},
            "never_seen": {"dependency": measure(fresh), "permission": measure(fresh)},
            "decorator": measure(decorator),
        },
    }


def verdicts(table: str) -> dict[str, str]:
    return {line.split(" | ")[0].lstrip("| "): line.rstrip(" |").rsplit(" | ", 1)[1] for line in table.splitlines()[2:]}


def test_targets_table_says_ok_only_when_every_median_meets_its_target(bench: ModuleType) -> None:
    met = verdicts(bench.targets_table(summary_with(same=0.23, same_perm=0.24, fresh=0.48, decorator=1.08)))
    assert set(met.values()) == {"ok"}, met
    # The permission dependency alone over the line misses the same-token target; so does each other target.
    missed = verdicts(bench.targets_table(summary_with(same=0.23, same_perm=0.26, fresh=0.51, decorator=1.11)))
    assert [name for name, verdict in missed.items() if verdict == "MISSED"] == [
        "same token: guard overhead ≤ 0.25x hand-rolled async",
        "never-seen token: ≤ 0.5x",
        "decorator on `async def` within 10% of the permission dependency",
    ]


def test_the_focused_ratios_replace_the_full_runs_in_the_rows_they_cover(bench: ModuleType) -> None:
    full = rounds(bare=30, hand_async=130, apo_dep=60, apo_dep_rs256=55)
    focused = {
        "same": rounds(bare=30, hand_async=130, apo_dep=50),
        "fresh": rounds(bare=30, hand_async=130, apo_dep=80),
    }
    labels = {"bare": "bare", "hand_async": "hand", "apo_dep": "dep", "apo_dep_rs256": "rs"}
    decode = {name: [1.0] for name in ("apo_decode", "apo_decode_cached", "pyjwt_decode", "floor")} | {
        f"{kind}_decode_{alg}": [1.0] for kind in ("apo", "pyjwt") for alg in ("rs256", "es256", "eddsa")
    }
    rows = {row["name"]: row for row in bench.summarise(full, full, labels, {}, decode, focused)["requests"]}
    assert (rows["apo_dep"]["label"], rows["apo_dep"]["same_ratio"], rows["apo_dep"]["fresh_ratio"]) == (
        "dep †",
        0.2,
        0.5,
    )
    assert rows["apo_dep"]["same_overhead_us"] == 30, "the µs columns stay the full run's"
    assert (rows["apo_dep_rs256"]["label"], rows["apo_dep_rs256"]["same_ratio"]) == ("rs", 0.25)
    assert (rows["bare"]["label"], rows["hand_async"]["label"]) == ("bare", "hand")


TARGET_ROWS = (
    "| same token: guard overhead ≤ 0.25x hand-rolled async |",
    "| never-seen token: ≤ 0.5x |",
    "| `ajwt.decode` never-seen HS256 ≤ 2.0x stdlib floor |",
    "| decorator on `async def` within 10% of the permission dependency |",
    "| thread-pool hops, async handlers |",
    "| memory bounded under floods |",
)


@pytest.mark.e2e
@pytest.mark.slow
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
    assert len(summary["raw"]["fresh"]["bare"]) == 3
    focused = summary["raw"]["targets"]  # the focused rounds are saved: the verdicts and † ratios re-derive from them
    assert len(focused["same"]["apo_deco"]) == targets["rounds"]
    rows = {row["name"]: row for row in summary["requests"]}
    marked = {name for name, row in rows.items() if row["label"].endswith(" †")}
    assert marked == {"apo_dep", "apo_perm", "apo_deco"}
    for name in marked:
        for kind in ("same", "fresh"):
            data = focused[kind]
            ratios = [(v - b) / (h - b) for v, h, b in zip(data[name], data["hand_async"], data["bare"], strict=True)]
            assert rows[name][f"{kind}_ratio"] == statistics.median(ratios), (name, kind)
    assert rows["apo_dep"]["same_ratio"] == targets["same_token"]["dependency"]["median"]
