"""The attention views: head view, matrix view and model view, sharing one Selection.

    selection = Selection()
    views = HeadView(selection), MatrixView(selection), ModelView(selection)
    stack_selector = StackSelector(selection)  # hidden when the model has one stack
    selection.set_stacks(result.stacks)        # after each run
"""

from explorer.core.state.selection import FROM, TO, Selection
from explorer.ui.views.controls import StackSelector
from explorer.ui.views.head_view import HeadView
from explorer.ui.views.matrix_view import MatrixView
from explorer.ui.views.model_view import ModelView

__all__ = ["FROM", "TO", "HeadView", "MatrixView", "ModelView", "Selection", "StackSelector"]
