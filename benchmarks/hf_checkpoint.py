"""A random-weight Hugging Face checkpoint for a benchmark, written once and imported once with
`attention-export hf`; both are kept in the work folder and reused by later runs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_checkpoint(work: Path, name: str, make_checkpoint: Callable[[Path], None], what: str) -> Path:
    """WORK/NAME.onnx, imported from WORK/NAME/ (written by `make_checkpoint(folder)` if missing)."""
    folder, model = work / name, work / f"{name}.onnx"
    if not (folder / "model.safetensors").exists():
        print(f"writing a random {what} checkpoint to {folder} ...", flush=True)
        make_checkpoint(folder)
    if not model.exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "export.cli", "hf", str(folder), "--out", str(model)],
                       check=True, cwd=REPO)
        print(f"attention-export hf: {time.perf_counter() - started:.0f} s", flush=True)
    return model


def write_decoder(folder: Path, config_class: str, model_class: str, **sizes) -> None:
    """A random-weight decoder LM of transformers' `config_class` / `model_class` with `sizes`, and a
    small byte-level BPE tokenizer whose end-of-text token is its bos and eos (the model's ids beyond
    the tokenizer's are never fed), saved as save_pretrained writes them."""
    import torch
    import transformers
    from transformers import PreTrainedTokenizerFast

    from export.data import code
    from export.tokenizer import END_OF_TEXT, byte_level_bpe

    tokenizer = byte_level_bpe((d.text for d in code.stdlib_sources()[:40]), 2000)
    end = tokenizer.token_to_id(END_OF_TEXT)
    config = getattr(transformers, config_class)(**sizes, tie_word_embeddings=True, bos_token_id=end, eos_token_id=end)
    torch.manual_seed(0)
    getattr(transformers, model_class)(config).save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=END_OF_TEXT, bos_token=END_OF_TEXT).save_pretrained(
        folder)


def open_window(model: Path, settings_name: str):
    """(app, window, seconds): the app's main window in this process, 1400 × 900 with settings of its
    own (WORK/SETTINGS_NAME.ini beside the model), opened on `model` and shown; seconds to open it."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings=QSettings(str(model.parent / f"{settings_name}.ini"), QSettings.Format.IniFormat))
    window.resize(1400, 900)
    started = time.perf_counter()
    if not window.open_path(model):
        raise RuntimeError(f"the app could not open {model}")
    opened = time.perf_counter() - started
    window.show()
    return app, window, opened
