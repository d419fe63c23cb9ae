"""Small untrained contract models (exported in a child process: torch stays out of this one),
and a workspace with the anatomy panel shown, run on a sentence or, for the bundled ViT, a sample image."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported anywhere

import pytest  # noqa: E402

SMALL = {
    "bert": {"vocab_size": 160, "d_model": 32, "heads": 4, "layers": 2, "d_ff": 64},
    "transformer": {"d_model": 32, "heads": 2, "encoder_layers": 2, "decoder_layers": 2, "d_ff": 64},
}
TEXT = "the cat sat on the mat"


@pytest.fixture(scope="session")
def model_paths(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("anatomy_models")
    paths = {}
    for kind, config in SMALL.items():
        paths[kind] = folder / f"{kind}.onnx"
        subprocess.run(
            [sys.executable, "-m", "export.cli", "untrained", kind, "--out", str(paths[kind]),
             "--config", json.dumps(config), "--seed", "5"],
            check=True, capture_output=True,
        )
    return paths


@pytest.fixture
def make_panel(qtbot):
    """make_panel(path, text) -> (workspace, AnatomyPanel) after one run drawn; both shown."""
    from explorer.core.model import open_model
    from explorer.ui.anatomy import AnatomyPanel
    from explorer.ui.workspace import Workspace

    made = []

    def make(path, text=TEXT):
        """A text model runs on `text`; an image model on the first bundled sample image."""
        workspace = Workspace()
        panel = AnatomyPanel(workspace)
        qtbot.addWidget(workspace)
        qtbot.addWidget(panel)
        workspace.resize(900, 600)
        panel.resize(1200, 700)
        workspace.show()
        panel.show()
        model = open_model(path, "cpu")
        workspace.set_model(model, text)
        if model.meta.image is not None:
            page = workspace.image_page
            page.run_now(page.strip.pictures()[0])  # the gallery's first sample, drawn before returning
        else:
            workspace.run_now()
        made.append((workspace, panel))
        return workspace, panel

    yield make
    for workspace, panel in made:
        panel.shutdown()
        workspace.shutdown()
