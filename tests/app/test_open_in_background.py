"""Opening a model on a worker thread: the window stays responsive, says it is busy, shows the
newest of several opens, and says why a file could not be opened."""

from __future__ import annotations

from explorer.core.text import TextEncoder
from explorer.ui.main_window import MainWindow


def test_opening_runs_off_the_gui_thread_with_a_busy_indicator(qtbot, window, bert_path, gated_open,
                                                               wait_for_model, wait_for_result):
    gate, calls = gated_open
    window.show()
    window.open_in_background(bert_path, "apple orange")
    # The GUI thread is free while the file opens: its event loop runs, the window says it is busy.
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    qtbot.wait(50)
    assert window.opening.busy and window.progress.isVisible()
    assert window.statusBar().currentMessage() == f"Opening {bert_path.name}…"
    assert window.model is None
    gate.set()
    wait_for_model(window, bert_path)
    assert calls == [(bert_path.name, False)]  # opened on the worker thread
    assert window.windowTitle() == f"{bert_path.name} — Attention Explorer"
    assert window.model_panel.sections["Model"]["Kind"] == "bert-mlm"
    expected = TextEncoder(window.model.meta.tokenizer).encode("apple orange").tokens
    assert wait_for_result(window).tokens["input_ids"] == expected
    assert not window.progress.isVisible()


def test_a_broken_file_opened_in_the_background_says_why(qtbot, window, bert_path, tmp_path, wait_for_model,
                                                          wait_for_result):
    window.open_in_background(bert_path, "still here")
    wait_for_model(window, bert_path)
    before = wait_for_result(window)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(bert_path.read_bytes()[:5000])  # a download cut short
    with qtbot.waitSignal(window.open_failed, timeout=10_000) as failed:
        window.open_in_background(broken)
    assert "broken.onnx is not an ONNX model" in failed.args[0]
    assert "broken.onnx is not an ONNX model" in window.message_bar.text()
    assert window.model.path == bert_path.resolve() and window.workspace.result is before
    assert window.windowTitle().startswith(bert_path.name)
    assert not window.opening.busy and not window.progress.isVisible()


def test_a_missing_recent_file_opened_in_the_background_leaves_the_recents(qtbot, window, tmp_path):
    gone = tmp_path / "gone.onnx"
    window.recents.add(gone)
    with qtbot.waitSignal(window.open_failed, timeout=10_000):
        window.open_in_background(gone)
    assert "There is no file" in window.welcome.message.text()
    assert gone.resolve() not in window.recents.paths()


def test_of_two_opens_in_a_row_the_second_wins(qtbot, window, bert_path, transformer_path, gated_open,
                                               wait_for_model, wait_for_result):
    gate, calls = gated_open
    shown = []
    window.model_opened.connect(lambda model: shown.append(model.path))
    window.open_in_background(bert_path)
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)  # the first is being opened
    window.open_in_background(transformer_path, "1 may 2001")
    gate.set()
    wait_for_model(window, transformer_path)
    qtbot.wait(100)  # nothing else lands later
    assert shown == [transformer_path.resolve()]
    assert window.windowTitle().startswith(transformer_path.name)
    assert "tgt_ids" in wait_for_result(window).tokens


def test_opening_on_the_calling_thread_drops_a_background_open(qtbot, window, bert_path, transformer_path,
                                                                gated_open, wait_for_result):
    gate, calls = gated_open
    window.open_in_background(bert_path)
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    gate.set()  # the synchronous open below passes the gate at once too
    assert window.open_path(transformer_path, "1 may 2001")
    qtbot.waitUntil(lambda: not window.opening.busy, timeout=10_000)
    qtbot.wait(50)
    assert window.model.path == transformer_path.resolve()
    assert "tgt_ids" in wait_for_result(window).tokens


def test_a_window_made_with_a_model_opens_it_while_it_is_built(qtbot, settings, bert_path, gated_open,
                                                              wait_for_model, wait_for_result):
    gate, calls = gated_open
    window = MainWindow(settings=settings, model=bert_path, text="apple orange")
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)  # being opened on the worker
    assert window.opening.busy and window.progress.isVisibleTo(window) and window.model is None
    gate.set()
    wait_for_model(window, bert_path)
    assert wait_for_result(window).tokens["input_ids"]
    window.workspace.shutdown()
