"""Where the bundled models, sample images and sample sentences live: `explorer/assets/`,
package data that travels in the wheel (and in the frozen bundle), found through
importlib.resources so an editable install, an installed wheel and PyInstaller all agree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from explorer import contract


def _assets_folder() -> Path:
    # The package is always installed as plain files (a wheel unpacks; PyInstaller's reader
    # serves real paths), so the traversable is a file-system path ONNX Runtime can open.
    return Path(str(files("explorer") / "assets"))


ASSETS = _assets_folder()
MODELS = ASSETS / "models"
IMAGES = ASSETS / "images"
SAMPLE_SENTENCES = ASSETS / "samples" / "sentences.txt"

BUNDLED_MODEL = MODELS / "bert.onnx"  # what `attention-explorer` opens with no arguments
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".gif", ".webp")


def bundled_models() -> list[Path]:
    """The bundled model files, the default first, then by name; empty where none are installed."""
    if not MODELS.is_dir():
        return []
    return sorted(MODELS.glob("*.onnx"), key=lambda p: (p != BUNDLED_MODEL, p.name))


@dataclass(frozen=True)
class BundledModel:
    """A bundled model as the welcome page and the File menu offer it."""

    path: Path
    name: str  # the metadata's name ("BERT (English documentation MLM)"), else the file's
    description: str  # the metadata's one line on what it shows, else why it could not be read


def bundled_catalog() -> list[BundledModel]:
    """Each bundled model with its name and one line, the default first. Read straight from the
    files' metadata without checking the rest (opening checks it): milliseconds, at start-up."""
    catalog = []
    for path in bundled_models():
        try:
            data = json.loads(contract.read_metadata_text(path) or "{}")
        except (contract.ContractError, OSError, ValueError) as exc:
            catalog.append(BundledModel(path, path.name, f"Its metadata cannot be read: {exc}"))
            continue
        if not isinstance(data, dict):
            data = {}
        catalog.append(BundledModel(path, str(data.get("name") or path.name), str(data.get("description") or "")))
    return catalog


def sample_images() -> list[Path]:
    """The bundled sample images, sorted by name; empty where none are installed."""
    if not IMAGES.is_dir():
        return []
    return sorted(p for p in IMAGES.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def sample_sentences(path: Path = SAMPLE_SENTENCES) -> list[str]:
    """The bundled sample sentences (the head table's sample batch), one per non-empty line."""
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
