"""Headless Qt, and an untrained BERT's attention from a real ONNX Runtime run."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported anywhere

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from explorer.core.result import StackAttention  # noqa: E402

TEXT = "the cat sat on the mat"


@pytest.fixture(scope="session")
def bert_stack(tmp_path_factory) -> StackAttention:
    """The encoder stack of an untrained contract BERT run on TEXT (exported in a child
    process, so that torch stays out of this one)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from explorer import contract

    path = tmp_path_factory.mktemp("tokensets_models") / "bert.onnx"
    subprocess.run(
        [sys.executable, "-m", "export.cli", "untrained", "bert", "--out", str(path)],
        check=True, capture_output=True, text=True,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    encoding = Tokenizer.from_str(meta.tokenizer).encode(TEXT)
    spec = meta.stacks["encoder"]
    feeds = {
        contract.INPUT_IDS: np.array([encoding.ids], dtype=np.int64),
        contract.ATTENTION_MASK: np.ones((1, len(encoding.ids)), dtype=np.int64),
        contract.head_mask_input("encoder"): np.ones((spec.layers, spec.heads), dtype=np.float32),
    }
    (output,) = session.run([contract.attention_output("encoder")], feeds)  # (L, B, H, Q, K)
    tokens = tuple(encoding.tokens)
    return StackAttention(name="encoder", attentions=output[:, 0], query_tokens=tokens, key_tokens=tokens)


@pytest.fixture
def selection(qapp):
    from explorer.ui.views import Selection

    return Selection()


@pytest.fixture
def show(qtbot):
    """Show a widget at a fixed size and wait until it is drawn; pytest-qt closes it afterwards."""

    def shown(widget, width=800, height=600):
        qtbot.addWidget(widget)
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    return shown


@pytest.fixture
def click(qtbot, qapp):
    """Click a pyqtgraph canvas where a scene position lies on screen, with or without Shift."""
    from PySide6.QtCore import Qt

    def click_at(canvas, scene_pos, shift=False):
        qapp.processEvents()  # pyqtgraph ranges its views lazily
        modifier = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, modifier, canvas.mapFromScene(scene_pos))

    return click_at
