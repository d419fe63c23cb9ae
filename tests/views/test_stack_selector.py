"""The stack selector: hidden for one stack, switches every view between encoder, decoder and cross."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ui.views import FROM, HeadView, MatrixView, ModelView, StackSelector
from explorer.ui.views.model_view import compose


@pytest.mark.slow  # exports an untrained BERT and runs it (once per session)
def test_hidden_with_one_stack(selection, bert_run, show):
    selector = show(StackSelector(selection))
    selection.set_stacks({"encoder": bert_run.stack})
    assert selector.isHidden()


def test_switching_stacks_switches_every_view(selection, hand_stacks, show):
    selector = show(StackSelector(selection))
    matrix_view = show(MatrixView(selection))
    head_view = show(HeadView(selection))
    model_view = show(ModelView(selection))
    selection.set_stacks(hand_stacks)
    assert not selector.isHidden()
    assert [selector.tabText(i) for i in range(selector.count())] == ["encoder", "decoder", "cross"]

    selection.open_head(1, 2)
    selection.set_token(1, FROM)
    selector.setCurrentIndex(2)  # as a click on the "cross" tab does
    cross = hand_stacks["cross"]
    assert selection.stack_name == "cross"
    assert np.array_equal(matrix_view.image.image, cross.attentions[1, 2])  # 4 queries x 5 keys
    assert matrix_view.key_axis.labels == cross.key_tokens
    assert matrix_view.query_axis.labels == cross.query_tokens
    assert np.array_equal(head_view.lines[2].weight, cross.attentions[1, 2, 1][cross.attentions[1, 2, 1] >= 0.01])
    assert np.array_equal(model_view.composed, compose(cross))

    selection.set_stack("decoder")  # from elsewhere: the tab follows
    assert selector.tabText(selector.currentIndex()) == "decoder"
