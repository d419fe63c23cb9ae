"""Untrained contract models with the step-by-step outputs, made once per session in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SMALL = {
    "bert": {"vocab_size": 160, "d_model": 32, "heads": 4, "layers": 2, "d_ff": 64},
    "transformer": {"d_model": 32, "heads": 2, "encoder_layers": 2, "decoder_layers": 2, "d_ff": 64},
}


@pytest.fixture(scope="session")
def small_models(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("anatomy")
    paths = {}
    for kind, config in SMALL.items():
        paths[kind] = folder / f"{kind}.onnx"
        subprocess.run(
            [sys.executable, "-m", "export.cli", "untrained", kind, "--out", str(paths[kind]),
             "--config", json.dumps(config), "--seed", "3"],
            check=True, capture_output=True,
        )
    return paths
