"""Decoder head diagnostics on an imported GPT-2 (random weights): induction and duplicate-token
scores on repeated random tokens, against a direct ONNX Runtime run of the same ids, and in the
head table of the anatomy dock."""

from __future__ import annotations

import numpy as np

from explorer import contract
from explorer.core.head_stats import repeated_tokens_run
from explorer.core.state.app_state import AppState
from explorer.shared.repetition import repeated_random_ids, repetition_scores


def test_the_scores_are_those_of_onnx_runtimes_attention_on_the_same_ids(imports):
    imported = imports("gpt2")
    state = AppState()
    assert state.open_now(imported.path)
    stats, span = repeated_tokens_run(state.runner)
    encoder, special_tokens = state.runner.encoders[contract.INPUT_IDS], state.model.meta.special_tokens
    prefix = (encoder.token_to_id(special_tokens["bos"]),)  # GPT-2's <|endoftext|> starts the probe
    assert span == (encoder.max_positions - 1) // 2 == 19  # the tiny GPT-2 takes 40 positions
    special = {encoder.token_to_id(t) for t in special_tokens.values()} - {None}
    ids = prefix + repeated_random_ids([i for i in range(encoder.vocab_size) if i not in special], span, 0)
    attention = imported.run({contract.INPUT_IDS: np.asarray([ids], np.int64),
                              contract.ATTENTION_MASK: np.ones((1, len(ids)), np.int64)})["attentions.decoder"][:, 0]
    induction, duplicate = repetition_scores(attention, 1, span)
    np.testing.assert_allclose(stats["decoder"].induction, induction, rtol=1e-5)
    np.testing.assert_allclose(stats["decoder"].duplicate, duplicate, rtol=1e-5)
    np.testing.assert_allclose(stats["decoder"].first, attention[..., 0].mean(-1), rtol=1e-5)  # the sink mass


def test_the_head_table_offers_repeated_tokens_for_a_decoder_only(qtbot, window, imports, bert_path):
    from explorer.ui.anatomy.head_table import REPEATED

    imported = imports("gpt2")
    assert window.open_path(imported.path, "the cat sat on the mat")
    window.workspace.run_now()
    window.show()
    window.anatomy_dock.setVisible(True)
    heads = window.anatomy_panel.heads
    assert heads.source.findText(REPEATED) >= 0
    with qtbot.waitSignal(heads.runs.result_ready, timeout=30_000):
        heads.source.setCurrentText(REPEATED)
    rows = heads.shown_stats().rows()
    assert all(0 <= row["induction"] <= 1 and 0 <= row["duplicate"] <= 1 for row in rows)
    from PySide6.QtCore import Qt

    from explorer.ui.anatomy.head_table import HEADERS

    column = HEADERS.index("induction")
    assert heads.model.headerData(column, Qt.Orientation.Horizontal) == "induction"
    shown = heads.model.data(heads.model.index(0, column))
    assert shown == f"{rows[0]['induction']:.3f}"  # a number, not the blank other inputs show
    assert "On 19 random tokens repeated" in heads.status.text()

    assert window.open_path(bert_path, "the cat sat")
    window.workspace.run_now()
    assert heads.source.findText(REPEATED) < 0 and heads.source.currentText() != REPEATED
