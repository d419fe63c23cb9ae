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


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "explorer").glob("contract_*.py")))
def test_the_contracts_other_modules_are_stdlib_only(module):
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    modules = imported_modules(ROOT / "explorer" / module)
    assert {m for m in modules if m.split(".")[0] not in stdlib and not m.startswith("explorer.contract")} == set()


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


def kind_name_comparisons(folder: str) -> list[str]:
    """Comparisons against a kind's name ("bert-mlm" == ..., kind in ("seq2seq", ...)): behaviour per
    kind belongs in explorer/core/kinds and export/kinds, looked up, not switched on."""
    from explorer import contract

    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Compare, ast.match_case)):
                for const in ast.walk(node):
                    if isinstance(const, ast.Constant) and const.value in contract.KINDS:
                        found.append(f"{path.relative_to(ROOT)}:{const.lineno} compares with {const.value!r}")
    return found


@pytest.mark.parametrize("folder", ["explorer", "export"])
def test_no_code_switches_on_a_kind_name(folder):
    assert kind_name_comparisons(folder) == []


def test_every_contract_kind_has_one_core_kind():
    from explorer import contract
    from explorer.core.kinds import KINDS

    assert sorted(KINDS) == sorted(contract.KINDS)


def test_no_module_is_longer_than_one_person_can_hold():
    long = [f"{path.relative_to(ROOT)}: {n} lines" for folder in ("explorer", "export", "benchmarks")
            for path in sorted((ROOT / folder).rglob("*.py"))
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400]
    assert long == []


def test_the_state_model_loads_without_qt():
    """The app's state imports, opens nothing and runs its events with no Qt module loaded at all."""
    code = ("import sys; import explorer.core.state.app_state, explorer.core.kinds; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_ruff_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -r requirements-test.txt brings it)")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
