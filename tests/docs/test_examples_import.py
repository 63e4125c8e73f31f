"""Every Python file under docs/examples/ imports cleanly; every FastAPI ``app`` among them has a schema.

Snippets are included in the docs verbatim, so a snippet that stops importing
(a renamed argument, a removed export) fails here before a reader copies it.
Page-specific behaviour is tested next to this file (``test_basics.py``...).
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
SNIPPETS = sorted(p for p in EXAMPLES.rglob("*.py") if p.name != "__init__.py")


def load_example(path: Path) -> ModuleType:
    """Import a docs example by file path as a fresh module (its folder on sys.path for sibling imports)."""
    relative = path.relative_to(EXAMPLES).with_suffix("")
    name = "docs_examples_" + "_".join(relative.parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_there_are_examples() -> None:
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize("path", SNIPPETS, ids=[str(p.relative_to(EXAMPLES)) for p in SNIPPETS])
def test_example_imports(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module = load_example(path)
    app = getattr(module, "app", None)
    if isinstance(app, FastAPI):
        schema = app.openapi()
        assert schema["openapi"].startswith("3.")
