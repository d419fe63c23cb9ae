"""The app as a user installs it: a built wheel, installed without -e into a fresh virtual
environment outside the checkout, started from another folder. It must find its bundled models
and samples through importlib.resources in site-packages, never beside a checkout.

Slow (a wheel build and an install: about 20 s with pip's cache warm, which the README's test
command leaves it, having just installed the same dependencies)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "explorer" / "assets"

pytestmark = [pytest.mark.slow, pytest.mark.packaging]


def _bundled_files() -> list[str]:
    """What the checkout bundles, as paths relative to explorer/assets (what git tracks there)."""
    listed = subprocess.run(["git", "ls-files", "explorer/assets"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0 or not listed.stdout.strip():  # not a git checkout: take the folder as it is
        return sorted(str(p.relative_to(ASSETS)) for p in ASSETS.rglob("*") if p.is_file())
    return sorted(str(Path(line).relative_to("explorer/assets")) for line in listed.stdout.split())


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing that points Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, "QT_QPA_PLATFORM": "offscreen", **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv holding the wheel built from this checkout."""
    root = tmp_path_factory.mktemp("installed")
    # Built from a copy without the checkout's build/ and egg-info: setuptools would take files
    # left there by an earlier build, and a wheel missing its package data could pass.
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"))
    wheels = root / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source),
         "-w", str(wheels)],
        check=True, capture_output=True, cwd=root,
    )
    (wheel,) = wheels.glob("attention_explorer-*.whl")
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    installing = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, cwd=root, env=_clean_env(),
    )
    assert installing.returncode == 0, installing.stderr[-2000:]
    return bin_dir


def test_resources_find_every_bundled_model_and_sample(installed, tmp_path):
    script = (
        "import json; from importlib.resources import files; from pathlib import Path\n"
        "from explorer.core import assets\n"
        "root = files('explorer') / 'assets'\n"
        "found = sorted(str(Path(str(p)).relative_to(str(root))) for p in Path(str(root)).rglob('*') if p.is_file())\n"
        "print(json.dumps({'root': str(root), 'found': found, 'default': str(assets.BUNDLED_MODEL),\n"
        "    'models': [p.name for p in assets.bundled_models()], 'images': len(assets.sample_images()),\n"
        "    'sentences': len(assets.sample_sentences())}))\n"
    )
    done = subprocess.run([str(installed / "python"), "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, env=_clean_env())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    site_packages = installed.parent / "lib"
    assert Path(report["root"]).is_relative_to(site_packages), report["root"]  # not the checkout's copy
    assert report["found"] == _bundled_files()
    assert Path(report["default"]).name == "bert.onnx" and Path(report["default"]).is_file()
    assert report["models"] == ["bert.onnx", "gpt.onnx", "transformer.onnx", "vit.onnx"]
    assert report["images"] == len(list((ASSETS / "images").glob("*.png"))) > 0
    assert report["sentences"] > 0


def test_installed_command_snapshots_the_bundled_model_from_another_folder(installed, tmp_path):
    out = tmp_path / "OUT.png"
    done = subprocess.run([str(installed / "attention-explorer"), "--snapshot", "OUT.png"], capture_output=True,
                          text=True, cwd=tmp_path, env=_clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    # It says which model it drew: the bundled BERT inside the fresh venv.
    drawn_from = done.stderr.strip().splitlines()[-1]
    assert "bert.onnx" in drawn_from and str(installed.parent / "lib") in drawn_from, done.stderr


def test_installed_command_reports_its_version(installed, tmp_path):
    done = subprocess.run([str(installed / "attention-explorer"), "--version"], capture_output=True, text=True,
                          cwd=tmp_path, env=_clean_env())
    assert done.returncode == 0 and "not installed" not in done.stdout, done.stdout + done.stderr
