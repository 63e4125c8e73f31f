"""The README's example runs and behaves as its transcript shows."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example() -> None:
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - our own README
    client = TestClient(namespace["app"])  # type: ignore[arg-type]

    token = client.post("/login", params={"username": "alice"}).json()["access_token"]
    assert client.get("/orders", headers={"Authorization": f"Bearer {token}"}).json() == {"orders_for": "alice"}
    anonymous = client.get("/orders")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


def test_readme_links_point_at_files() -> None:
    root = README.parent
    for target in re.findall(r"\]\(((?:docs|example_app)/[^)#]+)", README.read_text()):
        assert (root / target).exists(), target


def test_readme_quick_start_commands_exist_in_the_makefile() -> None:
    makefile = (README.parent / "Makefile").read_text()
    for target in ("demo", "test", "docs"):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target
