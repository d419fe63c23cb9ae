"""`attention-export hf` on Whisper (speech.py's tiny one) against transformers' eager attention: the
three stacks over a recording's frames and the logits, each stack's head mask, the recorded q, k, v,
the app's greedy transcription against the reference's, its log-mel features against
WhisperFeatureExtractor, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import WhisperFeatureExtractor

from explorer import contract
from explorer.core import anatomy, audio
from explorer.core.kinds.speech import SpeechDecoder
from explorer.core.model import open_model
from explorer.core.runner import Runner
from export.hf import FAMILIES, export_hf

from . import speech
from .conftest import Figures, imported_families

STACKS = contract.KIND_STACKS["speech-seq2seq"]
MEASURED = Figures()


@pytest.fixture(scope="module")
def whisper(tmp_path_factory):
    """(Imported, transformers' eager Whisper), imported once for the module."""
    get = imported_families(tmp_path_factory, speech.save, MEASURED,
                            lambda imported: (imported, speech.reference(imported.folder)))
    yield get("whisper")
    MEASURED.report()


def feeds_of(meta: contract.ModelMetadata, target: int) -> dict[str, np.ndarray]:
    """Two recordings (0.4 s and 1.5 s: padded and cut) and a random target of `target` tokens each."""
    features = np.concatenate([audio.features(speech.recording(0.4, 300, seed=1), speech.RATE, meta.audio),
                               audio.features(speech.recording(1.5, 500, seed=2, rate=8000), 8000, meta.audio)])
    tgt = np.random.default_rng(target).integers(1, 20, size=(2, target)).astype(np.int64)
    return {contract.INPUT_FEATURES: features, contract.TGT_IDS: tgt, contract.TGT_MASK: np.ones_like(tgt)}


def reference_run(reference, feeds):
    with torch.no_grad():
        out = reference(input_features=torch.from_numpy(feeds[contract.INPUT_FEATURES]),
                        decoder_input_ids=torch.from_numpy(feeds[contract.TGT_IDS]), output_attentions=True)
    return out.logits.numpy(), {stack: torch.stack(getattr(out, f"{stack}_attentions")).numpy() for stack in STACKS}


@pytest.mark.parametrize("target", [3, 9])
def test_every_stacks_attention_and_the_logits_equal_transformers_eager(whisper, target):
    imported, reference = whisper
    feeds = feeds_of(imported.metadata, target)
    out = imported.run(feeds)
    logits, attentions = reference_run(reference, feeds)
    positions = speech.POSITIONS
    shapes = {"encoder": (positions, positions), "decoder": (target, target), "cross": (target, positions)}
    for stack in STACKS:
        got = out[contract.attention_output(stack)]
        assert got.shape == (speech.LAYERS, 2, speech.HEADS, *shapes[stack])
        np.testing.assert_allclose(got, attentions[stack], atol=1e-4, rtol=0)
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
        MEASURED.add("whisper", stack, np.abs(got - attentions[stack]).max())
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-3, rtol=0)
    MEASURED.add("whisper", "logits", np.abs(out[contract.LOGITS] - logits).max())
    upper = np.triu_indices(target, 1)
    assert np.all(out[contract.attention_output("decoder")][..., upper[0], upper[1]] == 0.0)  # causal


@pytest.mark.parametrize("stack", STACKS)
def test_a_head_mask_is_that_heads_slice_of_its_stacks_w_o_input_zeroed(whisper, stack):
    imported, reference = whisper
    spec = imported.metadata.stacks[stack]
    family = FAMILIES["whisper"]
    path = {"encoder": family.output_projection, **family.stack_output_projections}[stack]
    head_mask = np.ones((spec.layers, spec.heads), np.float32)
    hooks = []
    for layer, head in [(0, 1), (1, 3)]:
        head_mask[layer, head] = 0.0
        keep = torch.ones(spec.heads * spec.head_dim)
        keep[head * spec.head_dim:(head + 1) * spec.head_dim] = 0.0
        module = reference.base_model.get_submodule(path.format(layer))
        hooks.append(module.register_forward_pre_hook(lambda m, args, keep=keep: (args[0] * keep,)))
    feeds = feeds_of(imported.metadata, 6)
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


def test_the_apps_greedy_transcription_equals_the_references_argmax_steps(whisper):
    imported, reference = whisper
    runner = Runner(open_model(imported.path))
    features = audio.features(speech.recording(0.9), speech.RATE, imported.metadata.audio)
    decoder = SpeechDecoder(runner, features)
    decoder.run_to_end()
    target = [reference.config.decoder_start_token_id]
    with torch.no_grad():
        while len(target) < len(decoder.target):
            logits = reference(input_features=torch.from_numpy(features),
                               decoder_input_ids=torch.tensor([target])).logits
            target.append(int(logits[0, -1].argmax()))
    assert decoder.target == target and len(target) > 2
    assert decoder.steps[-1].stacks["cross"].key_tokens[:2] == ("0.00s", "0.02s")  # 20 ms per position


def test_metadata_names_the_kind_the_audio_and_every_w_o(whisper):
    imported, _ = whisper
    meta = imported.metadata
    assert meta.kind == "speech-seq2seq" and tuple(meta.stacks) == STACKS
    assert meta.audio == contract.AudioSpec(16000, 400, 160, speech.MEL_BINS, 2 * speech.POSITIONS)
    assert meta.special_tokens["bos"] == speech.SPECIAL["start"] and meta.special_tokens["eos"] == speech.SPECIAL["eos"]
    for stack in STACKS:
        assert len(meta.output_projection[stack].weight) == speech.LAYERS
    outputs = {o.name for o in imported.session.get_outputs()}
    assert {contract.stack_output(name, stack) for name in ("queries", "keys", "values") for stack in STACKS} <= outputs


def test_the_anatomy_recomputes_every_stacks_attention_from_the_recorded_q_k(whisper):
    imported, _ = whisper
    runner = Runner(open_model(imported.path))
    features = audio.features(speech.recording(0.6), speech.RATE, imported.metadata.audio)
    result = runner.run_speech(features, [1, 5, 6, 7])
    for stack, spec in imported.metadata.stacks.items():
        attention = result.outputs[contract.attention_output(stack)]  # (L, H, T, S)
        for layer in range(spec.layers):
            for head in range(spec.heads):
                for query in (0, attention.shape[2] - 1):
                    alpha = anatomy.head_steps(result.outputs, stack, spec, layer, head, query).alpha
                    np.testing.assert_allclose(alpha, attention[layer, head, query], atol=1e-5, rtol=0)


@pytest.mark.parametrize(("mel_bins", "seconds"), [(80, 30), (128, 2), (16, 1)])
def test_the_apps_log_mel_features_equal_whisper_feature_extractors(mel_bins, seconds):
    extractor = WhisperFeatureExtractor(feature_size=mel_bins, chunk_length=seconds)
    spec = contract.AudioSpec(16000, 400, 160, mel_bins, extractor.nb_max_frames)
    np.testing.assert_allclose(audio.mel_filters(spec), extractor.mel_filters, atol=1e-7)
    for length in (0.3, seconds + 0.5):  # padded with silence, and cut
        samples = speech.recording(length)
        expected = extractor(samples, sampling_rate=16000, return_tensors="np").input_features
        np.testing.assert_allclose(audio.features(samples, 16000, spec), expected, atol=1e-4, rtol=0)


def test_another_feature_extractor_is_refused_with_a_sentence(tmp_path):
    folder = speech.save(tmp_path)
    pre = json.loads((folder / "preprocessor_config.json").read_text())
    (folder / "preprocessor_config.json").write_text(json.dumps({**pre, "feature_extractor_type": "Wav2Vec2X"}))
    with pytest.raises(contract.ContractError, match="computes Whisper's log-mel features, not Wav2Vec2X's"):
        export_hf(folder, tmp_path / "refused.onnx")
