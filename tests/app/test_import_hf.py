"""File → Import Hugging Face folder…: the importer runs in a child process, its stages show in the
status bar, and the file it wrote opens like any other; a refusal is the importer's sentence, Cancel
kills it and keeps what was open, and without the export extra the app says how to install it.

torch never enters this process: the tiny checkpoint is saved by a child too (tests/hf/conftest.py's
savers), and the import is `python -m export.cli hf` as the app runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.core import hf_import

REPO = Path(__file__).resolve().parents[2]
needs_export = pytest.mark.skipif(bool(hf_import.missing_modules()), reason="the export extra is not installed")

SAVE = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("hf_checkpoints", "tests/hf/conftest.py")
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
module.save_gpt2(Path(sys.argv[1]))
"""


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory) -> Path:
    """A random 2-layer GPT-2 folder as save_pretrained writes it."""
    folder = tmp_path_factory.mktemp("checkpoint") / "tiny-gpt2"
    subprocess.run([sys.executable, "-c", SAVE, str(folder)], check=True, cwd=REPO, capture_output=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return folder


@pytest.fixture
def importer(window, monkeypatch, tmp_path):
    """The window's importer, writing under a data folder of the test's own, never reaching the network."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return window.importer


def file_menu_actions(window) -> dict[str, object]:
    menu = window.menuBar().actions()[0].menu()
    return {action.text(): action for action in menu.actions()}


def test_the_file_menu_has_the_import(window):
    action = file_menu_actions(window)["Import &Hugging Face folder…"]
    assert action is window.importer.action and action.isEnabled()


def test_the_file_goes_to_the_per_user_imports_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    imports = tmp_path / "attention-explorer" / "imports"
    assert hf_import.import_path(tmp_path / "my-bert") == imports / "my-bert.onnx"
    snapshot = tmp_path / "hub" / "models--openai-community--gpt2" / "snapshots" / "607a30d"
    assert hf_import.import_path(snapshot) == imports / "openai-community--gpt2.onnx"


@needs_export
def test_a_checkpoint_is_imported_in_a_child_process_then_opened(qtbot, window, importer, tiny_gpt2,
                                                                 wait_for_model):
    window.show()
    imported, seen = [], []
    importer.imported.connect(imported.append)
    importer.import_folder(tiny_gpt2)
    pid = importer._process.processId()
    assert pid != os.getpid() and importer.status.isVisible() and importer.status.bar.maximum() == 0
    assert not importer.action.isEnabled() and importer.cancel_action.isEnabled()
    qtbot.waitUntil(lambda: seen.append(importer.status.label.text()) or not importer.busy, timeout=120_000)
    assert "Importing tiny-gpt2: reading the checkpoint…" in seen and "Importing tiny-gpt2: tracing…" in seen
    out = Path(os.environ["XDG_DATA_HOME"]) / "attention-explorer" / "imports" / "tiny-gpt2.onnx"
    assert imported == [out] and out.is_file() and not importer.job.partial.exists()
    wait_for_model(window, out, timeout=30_000)
    assert window.state.model.path == out.resolve() and window.state.model.meta.kind == "decoder-lm"
    assert window.recents.paths()[0] == out.resolve()
    assert not importer.status.isVisible() and importer.action.isEnabled()


@needs_export
def test_a_folder_that_is_no_checkpoint_gives_the_importers_sentence(qtbot, window, importer, tmp_path):
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    with qtbot.waitSignal(importer.failed, timeout=60_000) as failed:
        importer.import_folder(folder)
    sentence = f"holiday-photos was not imported: {folder / 'config.json'} is missing: the folder is not a " \
               "Hugging Face checkpoint."
    assert failed.args == [sentence]
    assert window.welcome.message.text() == sentence  # nothing open yet: said on the welcome page
    assert "Traceback" not in sentence and not importer.busy


@needs_export
def test_cancel_kills_the_importer_and_keeps_the_open_model(qtbot, window, importer, tiny_gpt2, bert_path,
                                                            wait_for_result):
    assert window.open_path(bert_path, "apple orange")
    before = wait_for_result(window)
    importer.import_folder(tiny_gpt2)
    pid = importer._process.processId()
    qtbot.waitUntil(lambda: "reading the checkpoint" in importer.status.label.text(), timeout=60_000)
    importer.cancel_action.trigger()  # Esc
    qtbot.waitUntil(lambda: not importer.busy, timeout=10_000)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped
    assert "was cancelled" in window.statusBar().currentMessage()
    assert not importer.job.partial.exists() and not importer.job.out.exists()
    assert window.state.model.path == bert_path.resolve() and window.workspace.result is before


def test_without_the_export_extra_the_app_says_how_to_install_it(window, monkeypatch):
    monkeypatch.setattr(hf_import, "missing_modules", lambda: ["torch", "transformers"])
    window.importer.action.trigger()  # no dialog: the message comes first
    message = window.welcome.message.text()
    assert message.startswith("Importing a Hugging Face folder needs the export extra, and torch and transformers "
                              "are not installed")
    assert f"`{sys.executable} -m pip install 'attention-explorer[export]'`" in message
    assert not window.importer.busy


def test_a_crash_without_a_sentence_names_its_last_line_and_keeps_the_output(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    job = hf_import.HfImport(tmp_path / "ckpt", tmp_path / "ckpt.onnx")
    message = job.failure("Traceback (most recent call last):\n  ...\nOSError: unable to load weights\n", 1)
    assert message.startswith("ckpt was not imported: the importer stopped (exit code 1) with no sentence for it "
                              "(OSError: unable to load weights); its output is in ")
    report = Path(message.removesuffix(".").rsplit(" ", 1)[1])
    assert "OSError: unable to load weights" in report.read_text()


def test_stages_are_the_latest_full_line_of_stdout():
    job = hf_import.HfImport(Path("ckpt"), Path("ckpt.onnx"))
    assert job.read("reading the checkpoint\nload") and job.stage == "reading the checkpoint"
    assert job.read("ing the weights\n") and job.stage == "loading the weights"
    assert not job.read("\n") and job.stage == "loading the weights"
