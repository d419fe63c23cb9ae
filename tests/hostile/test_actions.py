"""Actions at awkward moments, in the window: typing or dropping an image while a model opens,
opening over an opening, switching provider, a bug in a run. Each gets its answer and keeps the
person's work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from explorer import contract
from explorer.core.state.jobs import execute


def a_png(path: Path, colour: int = 0xCC3366) -> Path:
    image = QImage(20, 20, QImage.Format.Format_RGB32)
    image.fill(colour)
    assert image.save(str(path))
    return path


def test_text_typed_while_another_kind_opens_is_what_it_runs_on(window, bert_path, transformer_path, gated_open,
                                                               wait_for_model, wait_for_result):
    gate, _ = gated_open
    gate.set()
    window.open_in_background(bert_path, "a sentence for bert")
    wait_for_result(window)
    gate.clear()
    window.open_in_background(transformer_path)  # a seq2seq model: would start on its own sample
    window.workspace.text_box.setPlainText("14 July 1789")  # typed while it opens
    gate.set()
    wait_for_model(window, transformer_path)
    result = wait_for_result(window)
    assert window.state.text == "14 July 1789" == window.workspace.text()
    source = window.state.runner.encoders[contract.SRC_IDS]
    assert result.tokens[contract.SRC_IDS] == source.encode("14 July 1789").tokens


def test_an_image_dropped_while_the_vit_opens_is_taken_once_it_is_open(qtbot, window, vit_path, tmp_path,
                                                                      gated_open, wait_for_model, drop_files):
    gate, _ = gated_open
    window.open_in_background(vit_path)
    picture = a_png(tmp_path / "dropped.png")
    event, _mime = drop_files(window, picture)
    assert event.isAccepted()
    assert window.statusBar().currentMessage() == f"dropped.png is taken once {vit_path.name} is open."
    gate.set()
    wait_for_model(window, vit_path)
    qtbot.waitUntil(lambda: window.state.picture is not None and window.state.picture.path == picture, timeout=10_000)
    qtbot.waitUntil(lambda: window.state.shown is not None and not window.workspace.runs.busy, timeout=10_000)
    assert window.state.run.inputs.picture.path == picture  # the dropped image, not the first sample


def test_an_image_dropped_while_a_text_model_opens_is_said_unused(window, bert_path, tmp_path, gated_open,
                                                                 wait_for_model, drop_files):
    gate, _ = gated_open
    window.open_in_background(bert_path)
    drop_files(window, a_png(tmp_path / "cat.png"))
    gate.set()
    model = wait_for_model(window, bert_path)
    assert window.message_bar.text() == f"cat.png was not used: {model.name} reads text, not images."
    assert window.state.picture is None


def test_of_two_opens_in_a_row_only_the_newer_is_shown(window, bert_path, transformer_path, gated_open,
                                                      wait_for_model, wait_for_result):
    gate, calls = gated_open
    shown = []
    window.model_opened.connect(lambda model: shown.append(model.path.name))
    window.open_in_background(bert_path)
    window.open_in_background(transformer_path)
    gate.set()
    wait_for_model(window, transformer_path)
    wait_for_result(window)
    assert shown == [transformer_path.name]


def test_a_broken_file_opened_over_an_opening_says_why_and_keeps_the_open_model(window, bert_path, tmp_path,
                                                                               gated_open, wait_for_model,
                                                                               wait_for_result, qtbot):
    gate, _ = gated_open
    gate.set()
    window.open_in_background(bert_path, "kept")
    wait_for_result(window)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\0" * 64)
    window.open_in_background(broken)
    qtbot.waitUntil(lambda: not window.opening.busy and "broken.onnx" in window.message_bar.text(), timeout=10_000)
    assert window.model.path == bert_path.resolve() and window.state.text == "kept"
    assert window.windowTitle().startswith(bert_path.name)


def test_switching_to_cuda_without_it_says_so_and_keeps_running_on_the_cpu(window, bert_path, wait_for_model,
                                                                          wait_for_result, qtbot, monkeypatch):
    import explorer.core.model as model_module

    monkeypatch.setattr(model_module, "cuda_available", lambda: False)
    window.open_path(bert_path, "on the cpu")
    wait_for_result(window)
    window.set_provider("cuda")
    qtbot.waitUntil(lambda: not window.opening.busy and "CUDA" in window.message_bar.text(), timeout=10_000)
    assert window.model.providers == ("CPUExecutionProvider",) or window.model.providers == ["CPUExecutionProvider"]
    assert "running on the CPU" in window.message_bar.text()
    assert wait_for_result(window).tokens[contract.INPUT_IDS]
    assert window.state.text == "on the cpu"


def test_a_bug_in_a_run_is_reported_with_a_file_to_attach(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    def buggy() -> None:
        return np.zeros(3)[7]

    result, message = execute(buggy, (ValueError,), "The run")
    assert result is None
    assert message.startswith("The run failed (IndexError: index 7 is out of bounds")
    report = Path(message.split("a report to attach is in ")[1].rstrip("."))
    assert report.is_relative_to(tmp_path / "attention-explorer" / "reports")
    text = report.read_text()
    assert "IndexError" in text and "def buggy" not in text and "in buggy" in text  # the traceback
    assert "onnxruntime:" in text and "python:" in text


def test_an_error_people_can_act_on_is_said_as_it_is_without_a_report(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    def refused() -> None:
        raise ValueError("That text is too long.")

    assert execute(refused, (ValueError,), "The run") == (None, "That text is too long.")
    assert not (tmp_path / "attention-explorer").exists()


def test_closing_the_window_while_a_model_opens_leaves_nothing_running(qtbot, settings, bert_path, gated_open):
    from explorer.ui.main_window import MainWindow

    gate, calls = gated_open
    window = MainWindow(settings=settings)
    window.open_in_background(bert_path)
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    gate.set()
    window.close()  # the worker finishes the open in flight and stops; nothing is shown after
    assert window.model is None or window.model.path == bert_path.resolve()
