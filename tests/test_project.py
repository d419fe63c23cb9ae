"""The project's own rules: the code passes ruff, and imports only run the allowed way."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module in imported_modules(path):
            if module.split(".")[0] in forbidden or module in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


def test_explorer_never_imports_torch_or_export():
    assert offenders("explorer", ("torch", "export", "transformers")) == []


def test_core_never_imports_qt():
    assert offenders("explorer/core", ("PySide6", "pyqtgraph", "shiboken6")) == []


def test_contract_is_stdlib_only():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    modules = imported_modules(ROOT / "explorer" / "contract.py")
    assert {m for m in modules if m.split(".")[0] not in stdlib} == set()


def test_ruff_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -r requirements-test.txt brings it)")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
