"""Broken files, foreign files, empty and very long texts: a clear message, and the app stays up."""

from __future__ import annotations

import onnx

from explorer import contract


def _without_metadata(source, target):
    proto = onnx.load(str(source))
    del proto.metadata_props[:]
    onnx.save_model(proto, str(target))


def test_a_broken_file_says_why_and_keeps_the_open_model(window, bert_path, tmp_path, wait_for_result):
    window.open_path(bert_path, "still here")
    before = wait_for_result(window)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(bert_path.read_bytes()[:5000])  # a download cut short
    assert not window.open_path(broken)
    assert "broken.onnx is not an ONNX model" in window.message_bar.text()
    assert window.message_bar.isVisibleTo(window)
    assert window.model.path == bert_path.resolve()
    assert window.windowTitle().startswith(bert_path.name)
    assert window.workspace.result is before


def test_a_foreign_onnx_file_says_it_lacks_our_metadata(window, bert_path, tmp_path):
    foreign = tmp_path / "someone-elses.onnx"
    _without_metadata(bert_path, foreign)
    assert not window.open_path(foreign)
    assert window.pages.currentWidget() is window.welcome
    text = window.welcome.message.text()
    assert "not one exported for Attention Explorer" in text and contract.METADATA_KEY in text
    assert not window.message_bar.isVisibleTo(window)  # said once, on the page in view


def test_empty_text_says_so_instead_of_drawing(window, bert_path, wait_for_result):
    window.open_path(bert_path, "something")
    wait_for_result(window)
    window.workspace.set_text("   ")
    window.workspace.run_now()
    assert window.workspace.result is None
    assert not window.workspace.showing_views()
    assert "empty" in window.workspace.state_message.text()
    assert window.workspace.strips["input_ids"].tokens() == []

    window.workspace.set_text("back again")
    window.workspace.run_now()
    assert window.workspace.showing_views() and window.workspace.result is not None


def test_a_very_long_text_is_cut_with_a_visible_notice(window, bert_path, wait_for_result):
    window.open_path(bert_path, "word " * 1000)
    result = wait_for_result(window)
    limit = window.model.meta.max_positions["input_ids"]
    assert len(result.tokens["input_ids"]) == limit
    assert f"cut at {limit} tokens" in window.workspace.notice.text()
    assert window.workspace.notice.isVisibleTo(window)
    assert len(window.workspace.strips["input_ids"].tokens()) == limit


def test_a_failing_run_is_a_message_not_a_crash(window, bert_path, wait_for_result):
    window.open_path(bert_path, "fine")
    wait_for_result(window)

    def broken_run(text, head_masks=None):
        raise RuntimeError("something inside went wrong")

    window.workspace.runner.run_text = broken_run
    window.workspace.run_now()
    message = window.workspace.state_message.text()
    assert "RuntimeError: something inside went wrong" in message
    assert not window.workspace.showing_views()
    assert window.statusBar().currentMessage() == message
