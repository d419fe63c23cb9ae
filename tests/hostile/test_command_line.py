"""The command line on bad input: a refusal is exit 1 (2 for a malformed option) with one
"attention-explorer: error: ..." sentence; what the window would show as a notice goes to stderr
as a note; nothing ends on a signal or with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explorer.app import main

from .conftest import variant
from .test_model_files import wrap_output

ERROR = "attention-explorer: error: "


def snapshot(capsys, tmp_path, *argv: str) -> tuple[int, str]:
    code = main(["--snapshot", str(tmp_path / "out.png"), *argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["{tmp}/gone.onnx"], 1, "There is no file"),
        (["{readme}"], 1, "README.md is not an ONNX model that ONNX Runtime can read"),
        (["{bert}", "--layer", "99"], 1, "layer 99 does not exist: the encoder stack has layers 0-1"),
        (["{bert}", "--layer", "-1"], 1, "layer -1 does not exist"),
        (["{bert}", "--head", "7"], 1, "head 7 does not exist: the encoder stack has heads 0-3"),
        (["{bert}", "--stack", "cross"], 1, "cross"),
        (["{bert}", "--head", "x"], 2, "--head takes a head index or 'mean', not 'x'"),
        (["{bert}", "--size", "big"], 2, "--size takes WIDTHxHEIGHT in pixels"),
        (["{bert}", "--size", "0x0"], 2, "--size takes a positive width and height"),
        (["{bert}", "--text", ""], 1, "The text is empty"),
        (["{bert}", "--text", "\x01\x02"], 1, "The text gives no tokens"),
        (["{vit}"], 1, "is an image model: open it in the window and drop an image on it."),
    ],
)
def test_a_refused_snapshot_says_why_in_one_sentence(capsys, tmp_path, bert_path, vit_path, argv, code, expected):
    readme = str(Path(__file__).resolve().parents[2] / "README.md")
    argv = [a.format(tmp=tmp_path, bert=bert_path, vit=vit_path, readme=readme) for a in argv]
    got, err = snapshot(capsys, tmp_path, *argv)
    assert got == code, err
    errors = [line for line in err.splitlines() if line.startswith(ERROR)]
    assert len(errors) == 1 and expected in errors[0], err
    assert "Traceback" not in err and not (tmp_path / "out.png").exists()


def test_a_cut_text_and_a_provider_fallback_are_noted(capsys, tmp_path, bert_path, monkeypatch):
    import explorer.core.model as model_module

    monkeypatch.setattr(model_module, "cuda_available", lambda: False)
    code, err = snapshot(capsys, tmp_path, str(bert_path), "--text", "word " * 500, "--provider", "cuda")
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("attention-explorer: note: ")]
    assert any("Input cut at 48 tokens: the model takes at most 48; the text gives 2002." in n for n in notes), err
    assert any("no CUDA provider" in n and "running on the CPU" in n for n in notes), err
    assert (tmp_path / "out.png").stat().st_size > 0


def test_a_size_below_the_views_smallest_is_noted(capsys, tmp_path, bert_path):
    code, err = snapshot(capsys, tmp_path, str(bert_path), "--size", "10x10")
    assert code == 0 and "note: the matrix view is at least" in err and "not 10 x 10" in err


@pytest.mark.slow
def test_a_model_of_the_wrong_output_rank_is_refused_without_a_signal(tmp_path, bert_path):
    """It once died with a segmentation fault in the matrix view; now the probe run refuses it."""
    bad = variant(bert_path, tmp_path / "rank4.onnx",
                  graph=wrap_output("attentions.encoder", "Squeeze", np.array([1], np.int64)))
    for view in ("matrix", "head", "model"):
        done = subprocess.run([sys.executable, "-m", "explorer", "--snapshot", str(tmp_path / "o.png"), str(bad),
                               "--view", view], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, (done.returncode, done.stderr)
        assert done.stderr.strip().splitlines()[-1] == (
            "attention-explorer: error: rank4.onnx: output 'attentions.encoder' has shape (2, 4, 2, 2) on a probe "
            "run, where the contract and its metadata give [2, 1, 4, 2, 2].")
