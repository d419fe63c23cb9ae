"""File > Save: the current view as PNG and SVG, the attention arrays with their tokens as .npz."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QFileDialog

from explorer.core.saving import load_npz


def test_save_actions_write_what_is_shown(window, transformer_path, tmp_path, wait_for_result, monkeypatch):
    saving = window.saving
    assert not any(a.isEnabled() for a in saving.actions())  # nothing to save yet
    window.open_path(transformer_path, "3 june 1987")
    result = wait_for_result(window)
    assert all(a.isEnabled() for a in saving.actions())
    assert [a.shortcut().toString() for a in saving.actions()] == ["Ctrl+S", "Ctrl+Shift+S", "Ctrl+E"]

    chosen = {"path": ""}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (chosen["path"], ""))
    chosen["path"] = str(tmp_path / "arrays")  # typed without its suffix
    saving.npz.trigger()
    stacks = load_npz(tmp_path / "arrays.npz")
    assert list(stacks) == list(result.stacks)
    for name, stack in result.stacks.items():
        np.testing.assert_array_equal(stacks[name].attentions, stack.attentions)
        assert stacks[name].query_tokens == stack.query_tokens
        assert stacks[name].key_tokens == stack.key_tokens

    window.workspace.views.show_view("model")
    chosen["path"] = str(tmp_path / "view.png")
    saving.png.trigger()
    assert (tmp_path / "view.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    chosen["path"] = str(tmp_path / "view.svg")
    saving.svg.trigger()
    assert "<svg" in (tmp_path / "view.svg").read_text()
    assert window.statusBar().currentMessage() == f"Saved {tmp_path / 'view.svg'}"

    chosen["path"] = str(tmp_path / "no-such-folder" / "view.png")
    saving.png.trigger()
    assert window.statusBar().currentMessage().startswith("Could not save view.png")


def test_view_shortcuts_switch_tabs(window, bert_path, wait_for_result):
    window.open_path(bert_path, "hello")
    wait_for_result(window)
    for name, action in window.view_actions.items():
        action.trigger()
        assert window.workspace.views.current_name() == name
    assert [a.shortcut().toString() for a in window.view_actions.values()] == ["Ctrl+1", "Ctrl+2", "Ctrl+3"]
