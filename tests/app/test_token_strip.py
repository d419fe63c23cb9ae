"""The token strip on its own: long inputs scroll and cost only the tokens in sight, clicks and
the context menu reach the right token, and each mark is painted as it says."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QPalette
from PySide6.QtWidgets import QApplication, QMenu

from explorer.ui.token_strip import TokenStrip

LONG = 5000


def long_strip(show) -> TokenStrip:
    strip = show(TokenStrip(), width=600)
    strip.set_tokens(tuple(f"t{i}" for i in range(LONG)), tuple(range(100, 100 + LONG)))
    QApplication.processEvents()  # Qt lays the row out after the event loop turns
    return strip


def test_a_strip_of_5000_tokens_scrolls_to_focus_and_mark_the_last(show, qtbot):
    strip = long_strip(show)
    assert strip.tokens()[-1] == (f"t{LONG - 1}", str(100 + LONG - 1))
    bar = strip.horizontalScrollBar()
    assert bar.value() == 0 and bar.maximum() > 0
    strip.set_current(LONG - 1)
    assert strip.current() == LONG - 1
    last = strip.model().index(LONG - 1)
    assert bar.value() > 0 and strip.viewport().rect().contains(strip.visualRect(last))  # scrolled into sight
    under = strip.indexAt(strip.token_position(LONG - 1))  # what is drawn where the last box is
    assert under.row() == LONG - 1 and under.data() == f"t{LONG - 1}"
    strip.set_marks(frozenset({LONG - 1}), frozenset(), frozenset({LONG - 2}))
    assert strip.looks(LONG - 1) == {"current", "hidden_key"} and strip.looks(LONG - 2) == {"chosen"}

    clicked, hidden = [], []
    strip.token_clicked.connect(clicked.append)
    strip.hide_toggled.connect(hidden.append)
    strip.set_current(None)
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.token_position(LONG - 3))
    qtbot.mouseClick(
        strip.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, strip.token_position(LONG - 1)
    )
    assert clicked == [LONG - 3] and strip.current() == LONG - 3 and hidden == [LONG - 1]


def test_focusing_marking_and_painting_touch_only_the_tokens_in_sight(show):
    strip = long_strip(show)
    asked = []  # the rows whose data Qt reads: sizes for a layout, looks and text for painting
    model = strip.model()
    data = model.data
    model.data = lambda index, role=Qt.ItemDataRole.DisplayRole: asked.append(index.row()) or data(index, role)
    strip.set_current(LONG // 2)
    strip.set_marks(frozenset({LONG // 2, 1}), frozenset({LONG // 2 + 1}), frozenset({2}))
    strip.set_generated(LONG // 2)
    strip.viewport().grab()
    rows = set(asked)  # a copy: finding where a row is drawn asks the model too
    assert LONG // 2 in rows and "hidden_key" in strip.looks(LONG // 2)
    in_sight = {row for row in rows if strip.visualRect(model.index(row)).intersects(strip.viewport().rect())}
    assert in_sight == rows and len(rows) < 100  # no row out of sight was laid out or painted


def test_a_new_run_of_the_same_length_keeps_where_the_strip_is_scrolled(show):
    strip = long_strip(show)
    bar = strip.horizontalScrollBar()
    bar.setValue(bar.maximum() // 2)
    scrolled, shown = bar.value(), strip.indexAt(QPoint(5, 20)).row()
    assert shown > 0
    strip.set_tokens(tuple(f"t{i}" for i in range(LONG - 1)) + ("t",), tuple(range(100, 100 + LONG)))
    QApplication.processEvents()
    assert strip.tokens()[-1] == ("t", str(100 + LONG - 1)) and strip.tokens()[0] == ("t0", "100")
    assert bar.value() == scrolled and strip.indexAt(QPoint(5, 20)).row() == shown


def test_the_context_menu_hides_the_token_under_the_mouse(show, qtbot):
    strip = show(TokenStrip(), width=600)
    strip.set_tokens(("the", "cat", "sat"), (1, 2, 3))
    hidden = []
    strip.hide_toggled.connect(hidden.append)
    point = strip.token_position(1)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, strip.viewport().mapToGlobal(point))
    QApplication.sendEvent(strip.viewport(), event)
    menu = next(m for m in strip.findChildren(QMenu) if m.isVisible())
    hide, mask = menu.actions()
    assert not mask.isEnabled()  # can_mask is off: no [MASK] token to replace by
    hide.trigger()
    assert hidden == [1]
    menu.close()


def test_each_look_is_painted_in_its_colour(show):
    strip = show(TokenStrip(), width=600)
    strip.set_tokens(("plain", "focus", "hidden", "made"), (1, 2, 3, 4))
    strip.set_marks(frozenset({2}), frozenset())
    strip.set_generated(3)
    strip.set_current(1)
    image = strip.viewport().grab().toImage()

    def fill(index: int) -> QColor:  # inside the box, left of its text, clear of the outline
        box = strip.visualRect(strip.model().index(index))
        return image.pixelColor(box.left() + 4, box.center().y())

    palette = strip.palette()
    assert fill(0) == palette.color(QPalette.ColorRole.Window)  # a plain token: no fill
    assert fill(1) == palette.color(QPalette.ColorRole.Highlight)
    assert fill(2) == QColor("#d0d0d0")
    assert fill(3) == QColor("#dbe9f6")
