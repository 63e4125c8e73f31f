"""The atheris target still runs (a few thousand inputs) when atheris is installed; ``make fuzz`` runs it longer."""

import subprocess
import sys
from pathlib import Path

import pytest

TARGET = Path(__file__).with_name("fuzz_tokens.py")


def test_fuzz_target_smoke() -> None:
    pytest.importorskip("atheris")
    result = subprocess.run(
        [sys.executable, str(TARGET), "-runs=3000", "-seed=1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Done 3000 runs" in result.stderr
