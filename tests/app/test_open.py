"""Opening a model: by path, by drag-and-drop, from recents; the title and the model panel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from explorer.core.text import TextEncoder
from explorer.ui.main_window import MainWindow
from explorer.ui.recents import MAX_RECENT


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _drag_enter(window, mime: QMimeData) -> QDragEnterEvent:
    event = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(event)
    return event


def _drop(window, mime: QMimeData) -> QDropEvent:
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return event


def test_nothing_open_shows_the_welcome_page(window):
    assert window.pages.currentWidget() is window.welcome
    assert window.windowTitle() == "Attention Explorer"


def test_open_by_path_names_the_file_and_fills_the_model_panel(window, bert_path, wait_for_result):
    assert window.open_path(bert_path, "apple orange")
    assert window.windowTitle() == f"{bert_path.name} — Attention Explorer"
    assert window.pages.currentWidget() is window.workspace
    model_rows = window.model_panel.sections["Model"]
    assert model_rows["Kind"] == "bert-mlm"
    assert model_rows["Provider"] == ", ".join(window.model.session.get_providers())
    spec = window.model.meta.stacks["encoder"]
    assert f"{spec.layers} layers × {spec.heads} heads" in model_rows["Stacks"]
    assert f"{window.model.parameters:,}" in model_rows["Parameters"]
    assert window.model_panel.sections["Where it came from"]["Source"] == "untrained"
    assert "Figures" not in window.model_panel.sections  # an untrained model reached none

    result = wait_for_result(window)
    encoded = TextEncoder(window.model.meta.tokenizer).encode("apple orange")
    strip = window.workspace.strips["input_ids"]
    assert strip.tokens() == [(t, str(i)) for t, i in zip(encoded.tokens, encoded.ids, strict=True)]
    assert result.tokens["input_ids"] == encoded.tokens


def test_the_bundled_model_shows_its_figures_labelled_and_its_metadata_behind_details(window, qtbot):
    from explorer.core.assets import BUNDLED_MODEL

    assert window.open_path(BUNDLED_MODEL)
    panel, meta = window.model_panel, window.model.meta
    figures = panel.sections["Figures"]
    top1 = meta.provenance["top1_onnx"], meta.provenance["baseline_top1_onnx"]
    assert figures["masked-token top-1"] == f"{100 * top1[0]:.1f} % (unigram baseline {100 * top1[1]:.1f} %)"
    assert top1[0] > 3 * top1[1]  # what the figure says is what the file measured, and it beats the baseline
    assert panel.sections["Model"]["Shows"] == meta.description != ""
    assert panel.sections["Where it came from"]["Data"] == meta.provenance["data"]

    assert not panel.details.isVisibleTo(panel)  # raw metadata only on request
    panel.details_toggle.click()
    assert panel.details.isVisibleTo(panel)
    raw = json.loads(panel.details.toPlainText())
    assert raw["provenance"] == meta.provenance and raw["kind"] == meta.kind
    assert raw["tokenizer"].startswith("<tokenizers JSON")  # not a wall of vocabulary


# Qt 6.12 marks QDragEnterEvent's only constructor (it takes a QPoint) as deprecated.
@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_the_welcome_page_and_the_file_menu_offer_each_bundled_model_by_name(window, wait_for_model):
    from explorer.core.assets import bundled_catalog

    catalog = bundled_catalog()
    buttons = window.welcome.bundled_buttons
    assert [b.text() for b in buttons] == [m.name for m in catalog] and len(buttons) == 4
    assert all(b.description() == m.description != "" for b, m in zip(buttons, catalog, strict=True))
    menu = next(a.menu() for a in window.menuBar().actions()[0].menu().actions() if a.menu()
                and "Bundled" in a.text())
    assert [a.text() for a in menu.actions()] == [m.name for m in catalog]

    vit = next(m for m in catalog if m.path.name == "vit.onnx")
    buttons[catalog.index(vit)].click()
    assert wait_for_model(window, vit.path).meta.kind == "vit-classifier"


def test_drag_and_drop_accepts_onnx_files_only(window, bert_path, tmp_path, wait_for_model, wait_for_result):
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"not a model")
    not_a_model = _mime(picture)  # events do not own their mime data: keep it alive here
    assert not _drag_enter(window, not_a_model).isAccepted()
    assert not _drop(window, not_a_model).isAccepted()
    assert window.model is None

    model = _mime(bert_path)
    assert _drag_enter(window, model).isAccepted()
    assert _drop(window, model).isAccepted()
    wait_for_model(window, bert_path)  # opened in the background
    assert wait_for_result(window).stacks["encoder"].attentions.ndim == 4


def test_recent_files_are_kept_newest_first_and_reopen(
    qtbot, settings, bert_path, transformer_path, wait_for_model, wait_for_result
):
    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    assert first.open_path(bert_path)
    assert first.open_path(transformer_path)
    assert first.recents.paths() == [transformer_path.resolve(), bert_path.resolve()]
    first.workspace.shutdown()

    # A new session reads them back: on the welcome page and in File > Open Recent.
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    items = [second.welcome.recent_list.item(i) for i in range(second.welcome.recent_list.count())]
    assert [item.data(Qt.ItemDataRole.UserRole) for item in items] == [transformer_path.resolve(), bert_path.resolve()]
    menu_entries = [a.text() for a in second.recent_menu.actions() if a.text()]
    assert menu_entries[0] == f"&1 {transformer_path.name}"

    second.welcome.recent_list.itemActivated.emit(items[1])  # what a double click or Enter does
    wait_for_model(second, bert_path)
    assert wait_for_result(second).stacks
    second.workspace.shutdown()


def test_recents_keep_at_most_nine(window, tmp_path):
    for i in range(MAX_RECENT + 3):
        window.recents.add(tmp_path / f"model{i}.onnx")
    paths = window.recents.paths()
    assert len(paths) == MAX_RECENT
    assert paths[0].name == f"model{MAX_RECENT + 2}.onnx"


def test_a_recent_file_that_is_gone_is_dropped_with_a_message(window, tmp_path):
    gone = tmp_path / "gone.onnx"
    window.recents.add(gone)
    assert not window.open_path(gone)
    assert "There is no file" in window.welcome.message.text()
    assert gone.resolve() not in window.recents.paths()


def test_provider_menu_reflects_what_runs(qtbot, window, bert_path):
    from explorer.core.model import cuda_available

    window.open_path(bert_path)
    assert window.provider_actions["cpu"].isChecked()
    cuda = window.provider_actions["cuda"]
    assert cuda.isEnabled() == cuda_available()
    if not cuda_available():
        assert "onnxruntime-gpu" in cuda.toolTip()
        with qtbot.waitSignal(window.model_opened, timeout=10_000):
            window.set_provider("cuda")  # as from a script: reopened in the background, the app says it runs on the CPU
        assert "CPU" in window.message_bar.text()
        assert window.model.providers == ["CPUExecutionProvider"]
        assert window.provider_actions["cpu"].isChecked()


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")
def test_a_drop_the_window_will_not_take_says_why(window, bert_path, tmp_path, wait_for_result):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\\0" * 8)
    mime = _mime(weights)
    assert not _drag_enter(window, mime).isAccepted()
    message = window.statusBar().currentMessage()
    assert message.startswith("model.safetensors holds PyTorch weights, not an ONNX model")
    assert "attention-export hf FOLDER --out MODEL.onnx" in message

    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\\x89PNG")
    assert not _drag_enter(window, _mime(picture)).isAccepted()
    assert window.statusBar().currentMessage() == (
        "cat.png is an image and no model is open: open an image model (a vit-classifier .onnx) first.")

    assert window.open_path(bert_path, "apple orange")
    wait_for_result(window)
    pictures = _mime(picture)
    assert not _drop(window, pictures).isAccepted()
    assert window.statusBar().currentMessage() == (
        f"cat.png is an image and the open model ({window.model.name}) reads text: "
        "open an image model (a vit-classifier .onnx) first.")
    assert window.model.path == bert_path  # nothing else changed

    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert not _drag_enter(window, _mime(notes)).isAccepted()
    assert window.statusBar().currentMessage() == (
        "notes.txt is not an ONNX model: Attention Explorer opens .onnx files (and images on an image model).")
