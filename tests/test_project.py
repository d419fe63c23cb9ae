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


def imported_targets(path: Path) -> set[str]:
    """Like imported_modules, but `from explorer import contract` counts as explorer.contract."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = imported_modules(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "explorer" and node.level == 0:
            names.discard("explorer")
            names.update(f"explorer.{alias.name}" for alias in node.names)
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


def test_contract_parsing_is_stdlib_only():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    modules = imported_modules(ROOT / "explorer" / "contract_parsing.py")
    assert {m for m in modules if m.split(".")[0] not in stdlib and m != "explorer.contract"} == set()


def test_shared_is_torch_free_qt_free_and_imports_only_the_contract():
    """explorer.shared is what both sides import: numpy, onnx and tokenizers, the contract, itself."""
    allowed = set(sys.stdlib_module_names) | {"__future__", "numpy", "onnx", "tokenizers"}
    found = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "explorer" / "shared").rglob("*.py"))
        for module in imported_targets(path)
        if module.split(".")[0] not in allowed and module != "explorer.contract"
        and not module.startswith("explorer.shared")
    ]
    assert found == []


def test_export_imports_only_the_contract_and_shared_of_explorer():
    found = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "export").rglob("*.py"))
        for module in imported_targets(path)
        if module.split(".")[0] == "explorer" and module != "explorer.contract"
        and not module.startswith("explorer.shared")
    ]
    assert found == []


def test_ruff_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -r requirements-test.txt brings it)")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
