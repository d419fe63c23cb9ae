"""A workspace with the anatomy panel shown, run on a sentence or, for the bundled ViT, a sample image.
The contract models (`model_paths`) come from tests/conftest.py."""

from __future__ import annotations

import pytest

TEXT = "the cat sat on the mat"


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
