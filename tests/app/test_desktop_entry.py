"""The desktop entry: installed for the user under XDG_DATA_HOME, valid, naming the installed command."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.desktop import APP_ID, MIME_TYPE, icon_path, install_desktop_entry


def test_the_command_installs_entry_icon_and_mime_type(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path), "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "explorer", "--install-desktop-entry"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    entry = tmp_path / "applications" / f"{APP_ID}.desktop"
    assert str(entry) in done.stdout
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").read_text().startswith("<svg")
    assert "*.onnx" in (tmp_path / "mime" / "packages" / f"{APP_ID}.xml").read_text()
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(entry)
    fields = parsed["Desktop Entry"]
    command = fields["Exec"].removesuffix(" %f")
    assert Path(command) == Path(sys.executable).with_name(APP_ID)  # the command of this installation
    assert Path(command).exists()
    assert MIME_TYPE in fields["MimeType"].split(";")
    assert fields["Icon"] == APP_ID


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils is not installed")
def test_the_entry_validates(tmp_path):
    written = install_desktop_entry(home=tmp_path, command="/opt/attention explorer/bin/attention-explorer")
    entry = next(p for p in written if p.suffix == ".desktop")
    done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout + done.stderr
    assert 'Exec="/opt/attention explorer/bin/attention-explorer" %f' in entry.read_text()


def test_the_icon_is_package_data():
    assert icon_path().is_file() and icon_path().read_text().lstrip().startswith("<svg")
