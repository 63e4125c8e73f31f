"""``mypy --strict`` on a user's code: correct use of the typed API passes, misuse is caught (line by line)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--show-error-codes", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_correct_use_type_checks() -> None:
    result = _mypy(HERE / "user_code_ok.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_misuse_is_an_error_on_its_own_line() -> None:
    path = HERE / "user_code_misuse.py"
    misuse = [n for n, line in enumerate(path.read_text().splitlines(), 1) if "# misuse" in line]
    result = _mypy(path)
    flagged = {int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line}
    assert result.returncode == 1, result.stdout
    assert set(misuse) <= flagged, result.stdout
    assert len(misuse) == 4
