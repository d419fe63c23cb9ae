"""The desktop entry: an icon, a .desktop file that opens .onnx files, and the ONNX MIME type,
installed for the current user under $XDG_DATA_HOME (~/.local/share) by
`attention-explorer --install-desktop-entry`. Stdlib only; the files are package data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

APP_ID = "attention-explorer"
MIME_TYPE = "application/x-onnx"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def installed_command() -> str:
    """The absolute path of the attention-explorer command this Python runs, for the entry's Exec."""
    beside = Path(sys.executable).with_name(APP_ID)  # a venv's or pipx's bin folder
    found = str(beside) if beside.exists() else shutil.which(APP_ID)
    if found is None:
        raise FileNotFoundError(f"no {APP_ID} command beside {sys.executable} or on the PATH: "
                                "install the package first")
    return found


def desktop_entry(command: str) -> str:
    template = resources.files(__package__).joinpath(f"{APP_ID}.desktop.in").read_text(encoding="utf-8")
    return template.replace("{command}", command if " " not in command else f'"{command}"')


def install_desktop_entry(home: Path | None = None, command: str | None = None) -> list[Path]:
    """Write the entry, icon and MIME type under `home` (XDG_DATA_HOME); return the files written.
    The desktop's caches are refreshed where their tools are installed."""
    home = home or data_home()
    files = resources.files(__package__)
    targets = {
        home / "applications" / f"{APP_ID}.desktop": desktop_entry(command or installed_command()),
        home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": files.joinpath(f"{APP_ID}.svg").read_text(
            encoding="utf-8"),
        home / "mime" / "packages" / f"{APP_ID}.xml": files.joinpath("onnx-mime.xml").read_text(encoding="utf-8"),
    }
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for tool, folder in (("update-desktop-database", "applications"), ("update-mime-database", "mime")):
        if shutil.which(tool):
            subprocess.run([tool, str(home / folder)], capture_output=True)
    return list(targets)


def icon_path() -> Path:
    return Path(str(resources.files(__package__).joinpath(f"{APP_ID}.svg")))
