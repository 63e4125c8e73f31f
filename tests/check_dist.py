"""`make dist`: the sdist and the wheel in DIST carry the license and the changelog, publish no dev tools,
and the bare wheel, in a clean venv, imports under ``-W error`` and names the extra a module needs.

Usage: ``python tests/check_dist.py dist``. Exits non-zero, naming each problem.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER_EXTRAS = {"redis", "flask", "jwks"}
# A user's import, the bare wheel only: the message must name the extra.
NEEDS_EXTRA = {
    "from fastapi_apojwt.stores.redis import RedisStore": 'pip install "fastapi-apojwt[redis]"',
    "import fastapi_apojwt.flask": 'pip install "fastapi-apojwt[flask]"',
}


def check_metadata(where: str, text: str, version: str, problems: list[str]) -> None:
    meta = Parser().parsestr(text)
    if meta["Version"] != version:
        problems.append(f"{where}: Version {meta['Version']}, not {version}")
    if meta["License-Expression"] != "MIT":
        problems.append(f"{where}: License-Expression {meta['License-Expression']!r}, not 'MIT'")
    if "LICENSE" not in (meta.get_all("License-File") or []):
        problems.append(f"{where}: no License-File: LICENSE")
    extras = set(meta.get_all("Provides-Extra") or [])
    if extras != USER_EXTRAS:
        problems.append(f"{where}: extras {sorted(extras)}, not {sorted(USER_EXTRAS)}")
    for requirement in meta.get_all("Requires-Dist") or []:
        name = requirement.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
        if name in {"fastapi-apojwt", "apojwt", "playwright", "matplotlib", "authx", "pytest", "mypy", "ruff"}:
            problems.append(f"{where}: publishes a development requirement: {requirement}")


def check_texts(where: str, license_text: str | None, changelog: str | None, version: str, problems: list[str]) -> None:
    if license_text is None or "MIT License" not in license_text or "fastapi-apojwt developers" not in license_text:
        problems.append(f"{where}: no MIT LICENSE with the copyright line")
    if changelog is None or f"## {version}" not in changelog or "## Unreleased" not in changelog:
        problems.append(f"{where}: no CHANGELOG.md naming {version} (and an Unreleased section)")


def check_wheel(wheel: Path, version: str, problems: list[str]) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"fastapi_apojwt-{version}.dist-info"

        def read(name: str) -> str | None:
            return archive.read(name).decode() if name in names else None

        check_metadata(wheel.name, read(f"{info}/METADATA") or "", version, problems)
        check_texts(
            wheel.name, read(f"{info}/licenses/LICENSE"), read(f"{info}/extra_metadata/CHANGELOG.md"), version, problems
        )
        if "fastapi_apojwt/py.typed" not in names:
            problems.append(f"{wheel.name}: no py.typed")
        stray = [n for n in names if not n.startswith(("fastapi_apojwt/", info + "/"))]
        if stray:
            problems.append(f"{wheel.name}: files outside the package: {stray[:5]}")


def check_sdist(sdist: Path, version: str, problems: list[str]) -> None:
    top = f"fastapi_apojwt-{version}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())

        def read(name: str) -> str | None:
            member = f"{top}/{name}"
            if member not in names:
                return None
            handle = archive.extractfile(member)
            return handle.read().decode() if handle else None

        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
        expected = {f"{top}/{name}" for name in tracked} | {f"{top}/PKG-INFO"}
        stray = sorted(n for n in names if archive.getmember(n).isfile() or archive.getmember(n).issym())
        stray = [n for n in stray if n not in expected]
        if stray:
            problems.append(f"{sdist.name}: files git does not track: {stray[:5]}")
        check_metadata(sdist.name, read("PKG-INFO") or "", version, problems)
        check_texts(sdist.name, read("LICENSE"), read("CHANGELOG.md"), version, problems)


def check_bare_wheel(wheel: Path, problems: list[str]) -> None:
    """Install the wheel alone (no extras) in a clean venv and import it as a user would."""
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        python = str(Path(tmp) / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True)
        result = subprocess.run([python, "-W", "error", "-c", "import fastapi_apojwt"], capture_output=True, text=True)
        if result.returncode != 0:
            problems.append(f"bare wheel: `python -W error -c 'import fastapi_apojwt'` fails:\n{result.stderr}")
        for statement, hint in NEEDS_EXTRA.items():
            result = subprocess.run([python, "-W", "error", "-c", statement], capture_output=True, text=True)
            if result.returncode == 0 or hint not in result.stderr:
                problems.append(f"bare wheel: {statement!r} does not say {hint}:\n{result.stderr[-500:]}")
            else:
                print(f"bare wheel: {statement!r} -> {result.stderr.strip().splitlines()[-1]}")


def main() -> int:
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    namespace: dict[str, str] = {}
    for line in (ROOT / "fastapi_apojwt" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            exec(line, namespace)  # noqa: S102 - one assignment of a string literal from our own file
    version = namespace["__version__"]
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
        return 1
    problems: list[str] = []
    check_wheel(wheels[0], version, problems)
    check_sdist(sdists[0], version, problems)
    check_bare_wheel(wheels[0], problems)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{wheels[0].name} and {sdists[0].name}: license, changelog {version}, user extras only; bare wheel OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
