"""`attention-export hf` on the encoder–decoder families (seq2seq.FAMILIES: T5's relative position bias,
BART, Marian, mBART, Pegasus), each against transformers' eager attention: the three stacks' attention and
the logits, each stack's head mask, the recorded q and k, the app's greedy decoding against generate, the
window."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from explorer import contract
from explorer.core import anatomy
from explorer.core.decoding import GreedyDecoder
from explorer.core.model import open_model
from explorer.core.runner import Runner
from export.hf import FAMILIES, export_hf

from . import seq2seq
from .app_checks import every_view_and_anatomy_tab_drawn
from .conftest import Figures, imported_families, text_batch

STACKS = contract.KIND_STACKS["seq2seq"]
# family -> what the tests measured, for the README's table (printed with pytest -s)
MEASURED = Figures()
measured = MEASURED.add
TEXT = "the cat sat on the mat and the dog ran"
STEPS = 5  # greedy tokens compared with generate


@pytest.fixture(scope="module")
def imported_seq2seq(tmp_path_factory):
    """imported_seq2seq(model_type) -> (Imported, transformers' eager model), imported once for the module."""
    yield imported_families(tmp_path_factory, seq2seq.save, MEASURED,
                            lambda imported: (imported, seq2seq.reference(imported.folder, imported.name)))
    MEASURED.report()


@pytest.fixture(params=list(seq2seq.FAMILIES))
def model(request, imported_seq2seq):
    return imported_seq2seq(request.param)


def pair(reference, source: int, target: int):
    """Feeds of a batch of 2, the second source right-padded 3 tokens shorter; the target unpadded."""
    vocab = reference.config.vocab_size
    src, src_mask = text_batch(vocab, 2, source, seed=source)
    tgt = np.random.default_rng(target).integers(1, vocab, size=(2, target)).astype(np.int64)
    return {contract.SRC_IDS: src, contract.SRC_MASK: src_mask, contract.TGT_IDS: tgt,
            contract.TGT_MASK: np.ones_like(tgt)}


def reference_run(reference, feeds):
    with torch.no_grad():
        out = reference(input_ids=torch.from_numpy(feeds[contract.SRC_IDS]),
                        attention_mask=torch.from_numpy(feeds[contract.SRC_MASK]),
                        decoder_input_ids=torch.from_numpy(feeds[contract.TGT_IDS]),
                        decoder_attention_mask=torch.from_numpy(feeds[contract.TGT_MASK]), output_attentions=True)
    return out.logits.numpy(), {stack: torch.stack(getattr(out, f"{stack}_attentions")).numpy() for stack in STACKS}


@pytest.mark.parametrize(("source", "target"), [(5, 3), (11, 8)])
def test_every_stacks_attention_and_the_logits_equal_transformers_eager(model, source, target):
    imported, reference = model
    feeds = pair(reference, source, target)
    out = imported.run(feeds)
    logits, attentions = reference_run(reference, feeds)
    shapes = {"encoder": (source, source), "decoder": (target, target), "cross": (target, source)}
    for stack in STACKS:
        assert out[contract.attention_output(stack)].shape == (seq2seq.LAYERS, 2, seq2seq.HEADS, *shapes[stack])
        np.testing.assert_allclose(out[contract.attention_output(stack)], attentions[stack], atol=1e-4, rtol=0)
        measured(imported.name, stack, np.abs(out[contract.attention_output(stack)] - attentions[stack]).max())
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-3, rtol=0)
    measured(imported.name, "logits", np.abs(out[contract.LOGITS] - logits).max())
    padding = feeds[contract.SRC_MASK][1] == 0
    for stack in ("encoder", "cross"):  # the padded source keys are exactly 0
        assert np.all(out[contract.attention_output(stack)][:, 1][..., padding] == 0.0)
    assert np.all(out[contract.attention_output("decoder")][..., np.triu_indices(target, 1)[0],
                                                           np.triu_indices(target, 1)[1]] == 0.0)  # causal


@pytest.mark.parametrize("stack", STACKS)
def test_a_head_mask_is_that_heads_slice_of_its_stacks_w_o_input_zeroed(model, stack):
    """ONNX Runtime with head_mask.<stack> against transformers with the ablated heads' slices of that
    stack's output projection's input set to 0 (a forward pre-hook)."""
    imported, reference = model
    spec = imported.metadata.stacks[stack]
    path = w_o_path(imported.name, stack)
    head_mask = np.ones((spec.layers, spec.heads), np.float32)
    hooks = []
    for layer, head in [(0, 1), (1, 3)]:
        head_mask[layer, head] = 0.0
        keep = torch.ones(spec.heads * spec.head_dim)
        keep[head * spec.head_dim : (head + 1) * spec.head_dim] = 0.0
        module = reference.base_model.get_submodule(path.format(layer))
        hooks.append(module.register_forward_pre_hook(lambda m, args, keep=keep: (args[0] * keep,)))
    feeds = pair(reference, 9, 6)
    try:
        logits, attentions = reference_run(reference, feeds)
    finally:
        for hook in hooks:
            hook.remove()
    out = imported.run({**feeds, contract.head_mask_input(stack): head_mask})
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-3, rtol=0)
    for name in STACKS:
        np.testing.assert_allclose(out[contract.attention_output(name)], attentions[name], atol=1e-4, rtol=0)
    assert not np.allclose(out[contract.LOGITS], imported.run(feeds)[contract.LOGITS], atol=1e-3)
    measured(imported.name, "head-masked logits", np.abs(out[contract.LOGITS] - logits).max())


def test_the_apps_greedy_decoding_equals_generate(model):
    imported, reference = model
    runner = Runner(open_model(imported.path))
    decoder = GreedyDecoder(runner, TEXT)
    for _ in range(STEPS):
        decoder.next()
    with torch.no_grad():
        generated = reference.generate(input_ids=torch.tensor([decoder.source.ids]), max_new_tokens=STEPS,
                                       do_sample=False, num_beams=1)
    assert decoder.target == generated[0].tolist()
    assert decoder.target[0] == reference.config.decoder_start_token_id


def test_metadata_names_the_stacks_special_tokens_and_every_w_o(model):
    imported, reference = model
    meta, tiny = imported.metadata, seq2seq.FAMILIES[imported.name]
    assert meta.kind == "seq2seq" and set(meta.stacks) == set(STACKS)
    for stack, spec in meta.stacks.items():
        assert (spec.layers, spec.heads, spec.causal) == (seq2seq.LAYERS, seq2seq.HEADS, stack == "decoder")
        assert len(meta.output_projection[stack].weight) == seq2seq.LAYERS
    assert meta.special_tokens["bos"] == tiny.special[tiny.start]  # the token the decoder starts from
    assert meta.special_tokens["eos"] == tiny.special["eos"]
    contract.check_initializers(meta, {init.name for init in onnx.load(str(imported.path)).graph.initializer})
    outputs = {o.name for o in imported.session.get_outputs()}
    recorded = {contract.stack_output(name, stack) for name in ("queries", "keys", "values") for stack in STACKS}
    assert (recorded <= outputs) == tiny.internals and (recorded & outputs == set()) != tiny.internals


@pytest.fixture(params=seq2seq.WITH_INTERNALS)
def model_with_internals(request, imported_seq2seq):
    return imported_seq2seq(request.param)


def w_o_path(name: str, stack: str) -> str:
    family = FAMILIES[name]
    return {"encoder": family.output_projection, **family.stack_output_projections}[stack]


def test_the_anatomy_recomputes_every_stacks_attention_and_w_o_from_the_recorded_q_k_v(model_with_internals):
    """Cross attention's queries come from the target, its keys and values from the source."""
    imported, reference = model_with_internals
    result = Runner(open_model(imported.path)).run_text(TEXT)
    weights = anatomy.Initializers(imported.path)
    seen: dict[str, list[torch.Tensor]] = {stack: [] for stack in STACKS}
    hooks = [reference.base_model.get_submodule(w_o_path(imported.name, stack).format(layer)).register_forward_hook(
        lambda m, args, output, stack=stack: seen[stack].append(output[0]))
        for stack in STACKS for layer in range(seq2seq.LAYERS)]
    with torch.no_grad():
        reference(input_ids=torch.tensor([result.token_ids[contract.SRC_IDS]]),
                  decoder_input_ids=torch.tensor([result.token_ids[contract.TGT_IDS]]))
    for hook in hooks:
        hook.remove()
    for stack in STACKS:
        for layer, output in enumerate(seen[stack]):  # W_O's output, batch item 0
            heads = anatomy.multi_head_steps(result.outputs, imported.metadata, stack, layer, weights)
            np.testing.assert_allclose(heads.output, output.numpy(), atol=1e-4, rtol=0)
        spec, attention = imported.metadata.stacks[stack], result.outputs[contract.attention_output(stack)]
        keys = result.outputs[contract.stack_output("keys", stack)]  # (L, H, S, hd)
        assert keys.shape[2] == attention.shape[-1] and keys.shape[-1] == spec.head_dim
        for layer in range(spec.layers):
            for head in range(spec.heads):
                for query in (0, attention.shape[2] - 1):
                    alpha = anatomy.head_steps(result.outputs, stack, spec, layer, head, query).alpha
                    np.testing.assert_allclose(alpha, attention[layer, head, query], atol=1e-5, rtol=0)


def test_the_window_opens_the_import_draws_every_view_and_decodes_a_step(qtbot, window, model):
    imported, _ = model
    workspace = every_view_and_anatomy_tab_drawn(qtbot, window, imported.path, TEXT)
    assert set(workspace.result.stacks) == set(STACKS)
    workspace.decoder_panel.next_button.click()  # one greedy step
    assert len(window.state.decoder.steps) == 1


def test_a_checkpoint_that_names_no_start_token_is_refused_with_a_sentence(tmp_path):
    import json

    folder = seq2seq.save(tmp_path, "t5")  # T5 has no bos to start from either
    for name in ("config.json", "generation_config.json"):
        saved = json.loads((folder / name).read_text())
        saved.pop("decoder_start_token_id")
        (folder / name).write_text(json.dumps(saved))
    with pytest.raises(contract.ContractError, match="needs its bos token's id in config.json or generation_config"):
        export_hf(folder, tmp_path / "refused.onnx")
