"""The app on an imported Whisper: a recording dropped on the window is transcribed, every view and
anatomy tab draws its three stacks, the audio page draws it along one time axis, a click on the
spectrogram focuses that moment, decoding steps, and bad files get a sentence and lose nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from explorer import contract
from explorer.core import audio
from explorer.ui.drops import refused_drop
from export.hf import export_hf

from . import speech
from .app_checks import views_and_anatomy_drawn

STACKS = contract.KIND_STACKS["speech-seq2seq"]


@pytest.fixture(scope="module")
def whisper_path(tmp_path_factory):
    folder = speech.save(tmp_path_factory.mktemp("whisper"))
    return export_hf(folder, folder / "whisper.onnx")


def _drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return event, mime  # the event does not own its mime data


def test_a_dropped_recording_is_transcribed_and_every_view_draws(qtbot, window, whisper_path, tmp_path):
    assert window.open_path(whisper_path)
    workspace = window.workspace
    assert not workspace.text_box.isVisible() and workspace.audio_page.isVisibleTo(window)
    assert not workspace.showing_views() and "drop a recording" in workspace.state_message.text()
    flac = speech.write(tmp_path / "tone.flac", speech.recording(0.7, rate=44100), 44100)
    with qtbot.waitSignal(window.state.run_changed, timeout=20_000):
        event, _ = _drop(window, flac)
    assert event.isAccepted()
    run = window.state.run
    assert run.sound.name == "tone.flac" and run.prepared.shape == (1, speech.MEL_BINS, 2 * speech.POSITIONS)
    np.testing.assert_array_equal(run.prepared, audio.features(run.sound.samples, 44100, window.model.meta.audio))
    assert set(workspace.result.stacks) == set(STACKS) and workspace.showing_views()
    assert workspace.result.stacks["encoder"].query_tokens[-1] == "0.98s"
    assert list(workspace.strips) == [contract.TGT_IDS]  # the recording is drawn by the audio page, not a strip
    assert "Heard" in workspace.output_label.text()
    page = workspace.audio_page
    assert page.note.text() == "tone.flac: 0.7 s at 44,100 Hz; the model hears 1.0 s at 16,000 Hz (the rest silence)"
    views_and_anatomy_drawn(qtbot, workspace)

    # The attention curve is the model's: the mean over the cross attention's queries, then a word's row.
    selection = window.state.selection
    selection.set_stack("cross")
    shown = workspace.result.stacks["cross"].head(selection.layer, selection.head)
    x, y = page.curve.getData()
    np.testing.assert_array_equal(y, shown.mean(axis=0))
    window.state.focus_token(contract.TGT_IDS, 2)
    np.testing.assert_array_equal(page.curve.getData()[1], shown[2])
    assert page.caption.text().startswith(f"where {workspace.result.stacks['cross'].query_tokens[2]!r} listens")

    # A click on the spectrogram at 0.31 s focuses position 15 (20 ms each) as the encoder's query.
    selection.set_stack("encoder")
    window.resize(1200, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(100)  # laid out at its shown size before the point is mapped
    scene_point = page.mel_plot.vb.mapViewToScene(QPointF(0.31, speech.MEL_BINS / 2))
    view_point = page.plots.mapFromScene(scene_point)
    qtbot.mouseClick(page.plots.viewport(), Qt.MouseButton.LeftButton, pos=view_point)
    assert (selection.stack_name, selection.token) == ("encoder", 15)
    assert page.markers[1].isVisible() and abs(page.markers[1].value() - 0.31) < 0.011
    np.testing.assert_array_equal(page.curve.getData()[1],
                                  workspace.result.stacks["encoder"].head(selection.layer, selection.head)[15])

    workspace.decoder_panel.next_button.click()  # one greedy step over the same recording
    assert len(window.state.decoder.steps) == 1
    assert window.state.shown.tokens[contract.TGT_IDS] == (speech.SPECIAL["start"],)


def test_a_file_that_is_not_a_recording_gets_a_sentence_and_keeps_the_run(qtbot, window, whisper_path, tmp_path):
    assert window.open_path(whisper_path)
    wav = speech.write(tmp_path / "tone.wav", speech.recording(0.5))
    assert window.workspace.audio_page.open_files([wav], now=True)
    before = window.state.run
    fake = tmp_path / "noise.wav"
    fake.write_bytes(b"RIFF not really a wave file")
    assert not window.workspace.audio_page.open_files([fake], now=True)
    assert window.statusBar().currentMessage().startswith("noise.wav is not a recording this app can read")
    assert window.state.run is before
    empty = speech.write(tmp_path / "empty.wav", np.zeros(0, np.float32))
    assert not window.workspace.audio_page.open_files([empty], now=True)
    assert window.statusBar().currentMessage() == "empty.wav holds no sound (0 samples)."


def test_a_recording_dropped_on_a_text_model_says_what_to_open(tmp_path):
    urls = [QUrl.fromLocalFile(str(tmp_path / "talk.flac"))]
    assert refused_drop(urls, False, False, "bert") == (
        "talk.flac is a recording and the open model (bert) does not listen: open a speech model "
        "(an imported Whisper .onnx) first.")


def test_a_long_recording_is_read_no_further_than_the_model_hears(tmp_path, whisper_path):
    from explorer.core.model import open_model

    spec = open_model(whisper_path).meta.audio
    long = speech.write(tmp_path / "long.flac", speech.recording(5.0))
    samples, rate = audio.read_audio(long, max_seconds=spec.seconds)
    assert rate == speech.RATE and len(samples) == spec.samples
