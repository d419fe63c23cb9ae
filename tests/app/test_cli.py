"""The command line: --snapshot renders a view without a window; opening never imports torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtGui import QImage

from explorer.app import main


def _pixels(path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    assert not image.isNull(), f"{path} is not an image"
    bits = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return bits.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), :3].copy()  # own the pixels


@pytest.mark.parametrize("view", ["head", "matrix", "model"])
def test_snapshot_renders_each_view_to_png(qapp, bert_path, tmp_path, view):
    out = tmp_path / f"{view}.png"
    code = main(["--snapshot", str(out), str(bert_path), "--text", "the cat", "--view", view,
                 "--layer", "1", "--head", "0", "--size", "640x480"])
    assert code == 0
    pixels = _pixels(out)
    assert pixels.shape[:2] == (960, 1280)  # drawn at twice the size, for print
    assert pixels.reshape(-1, 3).std(axis=0).max() > 10  # not a blank page


def test_snapshot_to_svg_of_the_cross_stack(qapp, transformer_path, tmp_path):
    out = tmp_path / "cross.svg"
    assert main(["--snapshot", str(out), str(transformer_path), "--text", "1 may 2001",
                 "--stack", "cross", "--head", "mean"]) == 0
    assert out.read_text().lstrip().startswith("<?xml") and "<svg" in out.read_text()


def test_snapshot_errors_go_to_stderr_with_a_non_zero_exit(qapp, bert_path, tmp_path, capsys):
    assert main(["--snapshot", str(tmp_path / "x.png"), str(bert_path), "--layer", "99"]) == 1
    assert "layer 99 does not exist" in capsys.readouterr().err
    assert main(["--snapshot", str(tmp_path / "x.png"), str(tmp_path / "missing.onnx")]) == 1
    assert "There is no file" in capsys.readouterr().err
    assert main(["--snapshot", str(tmp_path / "x.png"), str(bert_path), "--stack", "cross"]) == 1
    assert "no stack 'cross'" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_opening_and_running_never_imports_torch(bert_path, tmp_path):
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from explorer.ui.main_window import MainWindow
        window = MainWindow(settings=QSettings({str(tmp_path / "settings.ini")!r}, QSettings.Format.IniFormat))
        assert window.open_path({str(bert_path)!r}, "apple orange")
        window.workspace.run_now()
        assert window.workspace.result is not None
        window.close()
        print("torch" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_version_names_the_installed_distribution(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"attention-explorer {version('attention-explorer')}"


def test_help_lists_every_option_with_examples(capsys):
    from explorer.app import build_parser

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for action in build_parser()._actions:
        assert all(flag in text for flag in action.option_strings)
    assert "examples:" in text and "attention-explorer --snapshot out.png" in text


def test_python_dash_m_explorer_is_the_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "explorer", "--version"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("attention-explorer ")
