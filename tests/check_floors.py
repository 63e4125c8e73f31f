"""`make floors`: requirements/floors.txt pins exactly the lower bounds of pyproject.toml, and they are installed.

Run with the floors venv's Python: ``python tests/check_floors.py``. Exits non-zero, naming each mismatch.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip's vendored copy of tomli
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")
FLOOR = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    pins = {}
    for line in (ROOT / "requirements" / "floors.txt").read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[normalize(match[1])] = match[2]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    floors = {}
    for requirement in requirements:
        match = FLOOR.match(requirement)
        if match is None:
            print(f"no lower bound (>=) in pyproject.toml: {requirement!r}")
            return 1
        floors[normalize(match[1])] = match[2]
    problems = [
        f"{name}: pyproject.toml says >={floors.get(name)}, floors.txt =={pins.get(name)}"
        for name in sorted(floors.keys() | pins.keys())
        if floors.get(name) != pins.get(name)
    ]
    for name, version in sorted(pins.items()):
        installed = importlib.metadata.version(name)
        if installed != version:
            problems.append(f"{name}: {installed} installed, not the floor {version}")
    for problem in problems:
        print(problem)
    if not problems:
        print(f"floors installed and declared alike: {', '.join(f'{n}=={v}' for n, v in sorted(pins.items()))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
