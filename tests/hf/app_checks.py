"""What every imported family must allow in the window: text in, every view and anatomy tab drawn,
and where the file lacks q, k and v (attention code of the family's own) the one-head tab says so."""

from __future__ import annotations

from pathlib import Path


def every_view_and_anatomy_tab_drawn(qtbot, window, path: Path, text: str):
    """Open `path`, run `text`, draw every view and every anatomy tab; the workspace."""
    assert window.open_path(path, text)
    workspace = window.workspace
    workspace.run_now()
    assert workspace.result is not None, workspace.state_message.text()
    views_and_anatomy_drawn(qtbot, workspace)
    return workspace


def views_and_anatomy_drawn(qtbot, workspace, check_panel=lambda panel: None) -> None:
    """Draw every view and every anatomy tab of the workspace's result; `check_panel(panel)` then."""
    from explorer.ui.anatomy import AnatomyPanel

    for name, view in workspace.views.views.items():
        workspace.views.show_view(name)
        image = view.grab()
        assert not image.isNull() and image.width() > 0, name
    panel = AnatomyPanel(workspace)
    qtbot.addWidget(panel)
    panel.show()
    try:
        for index in range(panel.tabs.count()):
            panel.show_tab(panel.tabs.widget(index))
        outputs = workspace.result.outputs
        if not any(name.startswith("queries.") for name in outputs):
            panel.show_tab(panel.one_head)
            assert "no queries" in panel.one_head.summary.text()
        check_panel(panel)
    finally:
        panel.shutdown()
