"""Progress and cancel: a run (or an open) that takes a moment says so in the status bar, with the
seconds it has taken and Cancel (or Esc); cancelling keeps what was shown; typing again stops the
run in flight instead of waiting for it."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStatusBar

from explorer.core.state.events import Event
from explorer.core.text import TextEncoder
from explorer.ui.run_status import SHOW_AFTER_S, RunStatus


class Clock:
    """A clock the test moves: the status bar's seconds, without waiting for them."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run_status(qtbot, **kwargs) -> RunStatus:
    bar = QStatusBar()
    qtbot.addWidget(bar)
    status = RunStatus(bar, **kwargs)
    status.clock = Clock()
    return status


def fake_lane(busy: bool = False):
    return SimpleNamespace(busy=busy, busy_changed=Event())


def set_busy(lane, busy: bool) -> None:
    lane.busy = busy
    lane.busy_changed.emit(busy)


def test_the_status_says_what_runs_and_for_how_long_once_it_takes_a_moment(qtbot):
    esc_taken = [False]
    status = run_status(qtbot, esc_taken=lambda: esc_taken[0])
    clock = status.clock
    runs, doing = fake_lane(), ["Running"]
    status.watch(runs, lambda: doing[0])
    assert not status.isVisibleTo(status.parent())

    set_busy(runs, True)
    assert status.isVisibleTo(status.parent()) and status.bar.isVisibleTo(status)  # the busy bar at once
    clock.now += SHOW_AFTER_S - 0.1
    status.refresh()
    assert not status.details_shown and not status.cancel_button.isVisibleTo(status)  # a quick run: no words
    clock.now += 0.3
    status.refresh()
    assert status.label.text() == "Running… 0.7 s"
    assert status.cancel_button.isVisibleTo(status) and status.cancel_action.isEnabled()
    esc_taken[0] = True  # an import's Cancel has Esc
    status.refresh()
    assert status.cancel_button.isVisibleTo(status) and not status.cancel_action.isEnabled()

    with qtbot.waitSignal(status.cancel_requested, timeout=1_000):
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    doing[0] = None  # the owner stopped it: winding down
    status.refresh()
    assert status.label.text() == "Cancelling…" and not status.cancel_button.isVisibleTo(status)

    status.note("Run cancelled.")
    set_busy(runs, False)
    assert not status.isVisibleTo(status.parent()) and not status.cancel_action.isEnabled()
    assert status.parent().currentMessage() == "Run cancelled."
    doing[0] = "Running"
    set_busy(runs, True)  # the next run counts from its own start, and the note is old news
    clock.now += 0.2
    status.refresh()
    assert not status.details_shown and status.parent().currentMessage() == ""


def test_the_status_follows_an_open_into_its_first_run(qtbot):
    status = run_status(qtbot)
    clock = status.clock
    opening, runs = fake_lane(True), fake_lane()
    status.watch(opening, lambda: "Opening")
    status.watch(runs, lambda: "Running")
    clock.now += 2.0
    status.refresh()
    assert status.label.text() == "Opening… 2.0 s"
    set_busy(runs, True)
    set_busy(opening, False)
    assert not status.details_shown  # the run has only begun
    clock.now += 1.0
    status.refresh()
    assert status.label.text() == "Running… 1.0 s"


def test_a_newer_request_is_counted_from_its_own_start(qtbot):
    status = run_status(qtbot)
    clock = status.clock
    runs, request = fake_lane(True), [object()]
    status.watch(runs, lambda: "Running", lambda: request[0])
    clock.now += 3.0
    status.refresh()
    assert status.label.text() == "Running… 3.0 s"
    request[0] = object()  # typed again: the lane stays busy with a newer request
    clock.now += 0.8
    status.refresh()
    clock.now += 0.6
    status.refresh()
    assert status.label.text() == "Running… 0.6 s"


def test_cancel_stops_a_long_run_and_keeps_the_views(qtbot, window, bert_path, wait_for_result, hold_first_run):
    window.open_path(bert_path, "the cat sat")
    before = wait_for_result(window)
    status = window.run_status
    status.clock = clock = Clock()
    held = hold_first_run(window.state.runner)
    failed = []
    window.state.run_failed.connect(failed.append)
    window.workspace.set_text("a dog ran far")
    window.workspace.request_run()
    assert held.started.wait(timeout=10)
    assert status.isVisibleTo(window) and not status.details_shown
    clock.now += 1.5
    qtbot.waitUntil(lambda: status.details_shown, timeout=2_000)  # the window's timer counts the seconds up
    assert status.label.text() == "Running… 1.5 s"
    assert status.cancel_button.isVisibleTo(window) and status.cancel_action in window.actions()

    cancellation = window.state.run_cancellation
    qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    assert cancellation.terminated  # ONNX Runtime was told to stop the run in flight
    qtbot.waitUntil(lambda: not window.workspace.runs.busy, timeout=10_000)
    assert window.statusBar().currentMessage() == "Run cancelled: the views show the last finished run."
    assert window.workspace.result is before and window.workspace.showing_views() and not failed
    assert not status.isVisibleTo(window) and not status.cancel_action.isEnabled()
    assert window.state.requested is window.state.run.inputs  # nothing is pending

    window.workspace.request_run()  # the text typed is run again on request
    assert window.statusBar().currentMessage() == ""  # no longer about the run under way
    assert wait_for_result(window).tokens["input_ids"] == TextEncoder(window.model.meta.tokenizer).encode(
        "a dog ran far").tokens


def test_a_first_run_cancelled_says_so_where_the_views_would_be(qtbot, window, bert_path, hold_first_run):
    window.open_path(bert_path, " ")  # nothing to run: no run is drawn
    qtbot.waitUntil(lambda: not window.workspace.runs.busy, timeout=10_000)
    held = hold_first_run(window.state.runner)
    window.workspace.set_text("a dog ran far")
    window.workspace.request_run()
    assert held.started.wait(timeout=10)
    window.state.cancel()
    qtbot.waitUntil(lambda: not window.workspace.runs.busy, timeout=10_000)
    assert window.statusBar().currentMessage() == "Run cancelled."
    assert window.workspace.result is None and not window.workspace.showing_views()
    assert window.workspace.state_message.text() == "The run was cancelled: change the input to run it again."


def test_esc_cancels_a_long_run(qtbot, window, bert_path, wait_for_result, hold_first_run):
    window.open_path(bert_path, "the cat sat")
    before = wait_for_result(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    status = window.run_status
    status.clock = clock = Clock()
    hold_first_run(window.state.runner)
    window.workspace.set_text("a dog ran far")
    window.workspace.request_run()
    clock.now += 1.0
    qtbot.waitUntil(lambda: status.cancel_action.isEnabled(), timeout=2_000)
    qtbot.keyClick(window.workspace.text_box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.workspace.runs.busy, timeout=10_000)
    assert window.statusBar().currentMessage().startswith("Run cancelled")
    assert window.workspace.result is before


def test_typing_again_stops_the_run_in_flight(qtbot, window, bert_path, wait_for_result, hold_first_run):
    window.open_path(bert_path, "the cat sat")
    wait_for_result(window)
    held = hold_first_run(window.state.runner)
    failed, drawn = [], []
    window.state.run_failed.connect(failed.append)
    window.workspace.result_shown.connect(drawn.append)
    window.workspace.set_text("first words")
    window.workspace.request_run()
    assert held.started.wait(timeout=10)
    first = window.state.run_cancellation
    window.workspace.set_text("second words")
    window.workspace.request_run()
    assert first.terminated  # stopped in flight: the second run does not wait for it to end
    assert window.state.run_cancellation is not first
    result = wait_for_result(window)
    expected = TextEncoder(window.model.meta.tokenizer).encode("second words").tokens
    assert result.tokens["input_ids"] == expected
    assert [r.tokens["input_ids"] for r in drawn] == [expected]
    assert not failed and window.statusBar().currentMessage() != "Cancelled."


def test_cancel_drops_an_open_under_way(qtbot, window, bert_path, gated_open):
    gate, calls = gated_open
    opened = []
    window.model_opened.connect(opened.append)
    window.open_failed.connect(opened.append)
    window.open_in_background(bert_path)
    qtbot.waitUntil(lambda: bool(calls), timeout=5_000)
    window.state.cancel()
    assert window.statusBar().currentMessage() == f"Opening {bert_path.name} cancelled."
    gate.set()  # the file is read to the end, and its model never shown
    qtbot.waitUntil(lambda: not window.opening.busy, timeout=10_000)  # its outcome has come back
    assert window.model is None and not opened
    assert window.pages.currentWidget() is window.welcome
