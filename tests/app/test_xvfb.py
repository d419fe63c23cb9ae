"""The real window on a real X server (Xvfb, Qt's xcb platform), captured to a screenshot."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtGui import QImage

from explorer.ui.main_window import DEFAULT_SIZE

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (apt-get install xvfb)"),
]


def test_the_window_opens_runs_and_draws_under_xvfb(bert_path, tmp_path):
    shot = tmp_path / "window.png"
    # Its settings (the recent files) under tmp_path: a test never writes into the user's.
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1400x1000x24",
         sys.executable, "-m", "explorer.app", str(bert_path), "--text", "the cat sat", "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot)).convertToFormat(QImage.Format.Format_RGB32)
    assert not image.isNull()
    assert (image.width(), image.height()) == DEFAULT_SIZE  # the window itself
    bits = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).copy()
    colours = bits.reshape(-1, 4)[:, :3]
    assert len(np.unique(colours, axis=0)) > 50  # text, a heatmap and its colour bar, not a blank grab
