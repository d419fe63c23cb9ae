"""Small contract files of each kind, exported by `attention-export untrained` in a subprocess
(so that torch never enters the test process) and cached by the hash of the exporter's sources."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Small enough to export in seconds; max_positions small enough that "a very long text" is cheap.
SMALL = {
    "bert": {"vocab_size": 160, "d_model": 32, "heads": 4, "layers": 2, "d_ff": 64, "max_positions": 48},
    "transformer": {"vocab_size": 160, "d_model": 32, "heads": 2, "encoder_layers": 2, "decoder_layers": 3,
                    "d_ff": 64, "max_positions": 40},
    "vit": {"image_size": 16, "patch_size": 4, "d_model": 32, "heads": 2, "layers": 3, "d_ff": 64, "classes": 5},
}


def _sources_hash() -> str:
    """The sources an untrained export runs through (training and data code are not among them)."""
    digest = hashlib.sha256()
    sources = [*REPO.glob("export/*.py"), *REPO.glob("export/models/*.py"), REPO / "explorer" / "contract.py"]
    for path in sorted(sources):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def contract_model(kind: str, cache_dir: Path) -> Path:
    """The path of a small untrained `kind` model ("bert", "transformer", "vit"), exporting it if needed."""
    config = json.dumps(SMALL[kind], sort_keys=True)
    key = hashlib.sha256(f"{_sources_hash()} {kind} {config}".encode()).hexdigest()[:16]
    path = cache_dir / f"{kind}-{key}.onnx"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.partial.onnx")
        subprocess.run(
            [sys.executable, "-m", "export.cli", "untrained", kind, "--out", str(partial), "--config", config],
            check=True, cwd=REPO, capture_output=True,
        )
        os.replace(partial, path)  # whole files only, even with two sessions exporting at once
        for stale in cache_dir.glob(f"{kind}-*.onnx"):  # exports of older sources
            if stale != path and ".partial" not in stale.name:
                stale.unlink(missing_ok=True)
    return path


# -- fixtures: each conftest that needs contract files takes these names from this module ------------


@pytest.fixture(scope="session")
def model_cache(request, tmp_path_factory) -> Path:
    """pytest's cache folder, kept between runs; a temporary one under `-p no:cacheprovider`."""
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("contract-models")) if cache else tmp_path_factory.mktemp("contract-models")


@pytest.fixture(scope="session")
def bert_path(model_cache) -> Path:
    return contract_model("bert", model_cache)


@pytest.fixture(scope="session")
def transformer_path(model_cache) -> Path:
    return contract_model("transformer", model_cache)


@pytest.fixture(scope="session")
def vit_path(model_cache) -> Path:
    return contract_model("vit", model_cache)
