"""What a drop on the window holds, and why the window will not take it: Qt URLs in, paths and
sentences out."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl

from explorer.core import audio
from explorer.ui.image_file import image_suffixes


def onnx_paths(urls: list[QUrl]) -> list[Path]:
    """The local .onnx files among dragged URLs."""
    return [Path(u.toLocalFile()) for u in urls if u.isLocalFile() and u.toLocalFile().lower().endswith(".onnx")]


CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


def refused_drop(urls: list[QUrl], takes_images: bool, takes_audio: bool, model_name: str | None) -> str:
    """Why the window will not take these dragged files: a sentence for the status bar."""
    files = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
    if not files:
        return "Only files can be dropped here: an .onnx model, or images on an image model."
    path = files[0]
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return (f"{path.name} holds PyTorch weights, not an ONNX model: import its Hugging Face folder with "
                "\"attention-export hf FOLDER --out MODEL.onnx\", then drop the .onnx here.")
    if path.suffix.lower().lstrip(".") in image_suffixes() and not takes_images:
        reads = f"the open model ({model_name}) reads text" if model_name else "no model is open"
        return f"{path.name} is an image and {reads}: open an image model (a vit-classifier .onnx) first."
    if path.suffix.lower().lstrip(".") in audio.SUFFIXES and not takes_audio:
        reads = f"the open model ({model_name}) does not listen" if model_name else "no model is open"
        return f"{path.name} is a recording and {reads}: open a speech model (an imported Whisper .onnx) first."
    return f"{path.name} is not an ONNX model: Attention Explorer opens .onnx files (and images on an image model)."


def unused_drop(path: Path, model_name: str) -> str:
    """Why a file dropped while a model opened was not used: the model turned out to read text."""
    what = "recordings" if path.suffix.lower().lstrip(".") in audio.SUFFIXES else "images"
    return f"{path.name} was not used: {model_name} reads text, not {what}."


def dropped_images(urls: list[QUrl]) -> list[Path]:
    """The dropped local files an image model's page would read: any but models and checkpoints
    (the page says why a file is not an image it can read)."""
    models = set(onnx_paths(urls))
    return [p for u in urls if u.isLocalFile() and (p := Path(u.toLocalFile())) not in models
            and p.suffix.lower() not in CHECKPOINT_SUFFIXES]
