"""Importing a Hugging Face checkpoint folder from the app, without Qt: whether the export extra is
installed, where the file goes, the command that runs the importer, and what its output says.

The importer (`attention-export hf`) runs in a child process: torch's tracing holds the GIL for
seconds and can take a process down with it, and the app itself never imports torch.
explorer/ui/import_hf.py runs the process and shows its stages.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from explorer.core.reports import APP, reports_folder
from explorer.desktop import data_home

EXPORT_MODULES = ("torch", "transformers", "onnxscript", "safetensors")  # what the `export` extra installs
INSTALL_COMMAND = "pip install 'attention-explorer[export]'"
ERROR_PREFIX = "attention-export: error: "  # how export/cli.py says a refusal, one sentence


def missing_modules() -> list[str]:
    """The export extra's modules this Python cannot import (found without importing them)."""
    return [name for name in EXPORT_MODULES if importlib.util.find_spec(name) is None]


def install_message(missing: list[str]) -> str:
    names = " and ".join(filter(None, (", ".join(missing[:-1]), missing[-1])))
    return (f"Importing a Hugging Face folder needs the export extra, and {names} "
            f"{'is' if len(missing) == 1 else 'are'} not installed: install it with "
            f"`{sys.executable} -m {INSTALL_COMMAND}` (the app's own Python), then import again.")


def imports_folder() -> Path:
    return data_home() / APP / "imports"


def import_path(folder: Path) -> Path:
    """Where the import of `folder` goes: one file per checkpoint name, which a new import of it
    replaces. A snapshot in the hub's cache (models--ORG--NAME/snapshots/HASH) is named after its model."""
    folder = folder.resolve()
    name = folder.name
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        name = folder.parent.parent.name.removeprefix("models--")
    return imports_folder() / f"{name}.onnx"


@dataclass
class HfImport:
    """One import: the folder, the file it becomes, the stage the importer said last."""

    folder: Path
    out: Path
    stage: str = "starting the importer"
    _pending: str = field(default="", repr=False)  # stdout after its last full line

    @property
    def partial(self) -> Path:
        """What the importer writes: renamed to `out` only once it succeeded, so that a cancelled or
        failed import leaves the previous one whole."""
        return self.out.with_name(f".{self.out.stem}.partial.onnx")

    def command(self) -> tuple[str, list[str]]:
        """The program and its arguments: this Python, so the importer sees the same packages."""
        return sys.executable, ["-m", "export.cli", "hf", str(self.folder), "--out", str(self.partial)]

    def read(self, stdout: str) -> bool:
        """Take more of the importer's stdout; True when its latest full line is a new stage."""
        lines = (self._pending + stdout).split("\n")
        self._pending = lines.pop()
        said = [line.strip() for line in lines if line.strip()]
        if not said or said[-1] == self.stage:
            return False
        self.stage = said[-1]
        return True

    def finish(self) -> Path:
        self.partial.replace(self.out)
        return self.out

    def discard(self) -> None:
        self.partial.unlink(missing_ok=True)

    def failure(self, stderr: str, exit_code: int | None) -> str:
        """One sentence on why the import failed: the importer's own refusal where it gave one; else
        the last line it wrote (`exit_code` None: it crashed), its whole output kept in a report."""
        refusals = [line for line in stderr.splitlines() if line.startswith(ERROR_PREFIX)]
        if refusals:
            sentence = refusals[-1].removeprefix(ERROR_PREFIX).rstrip(".")
            return f"{self.folder.name} was not imported: {sentence}."
        last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "no output")
        how = "crashed" if exit_code is None else f"stopped (exit code {exit_code})"
        report = _keep(stderr)
        where = f"its output is in {report}" if report else "its output could not be kept"
        return f"{self.folder.name} was not imported: the importer {how} with no sentence for it ({last}); {where}."


def _keep(stderr: str) -> Path | None:
    """The importer's stderr in a report file beside the app's bug reports, or None when it cannot be written."""
    try:
        folder = reports_folder()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"import-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        path.write_text(stderr, encoding="utf-8")
        return path
    except OSError:
        return None
