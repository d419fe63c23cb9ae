"""The text models' training pipelines at toy size: steps, evaluation, export, resuming, the CLI."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from explorer import contract
from export.bundle import export_checkpoint
from export.checkpoint import load_model
from export.cli import main as cli_main
from export.data import dates, text
from export.layers import sinusoidal_table
from export.models import Bert, BertConfig, Transformer, TransformerConfig
from export.tokenizer import SEQ2SEQ_SPECIAL, bert_wordpiece
from export.train import bert as bert_train
from export.train import evaluate_text as ev
from export.train import transformer as date_train
from export.train.loop import TrainConfig, train


def _steps_on_one_batch(model, loss_fn, batch, steps: int = 15, lr: float = 3e-3) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss, _ = loss_fn(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def _tiny_transformer(vocab: int) -> Transformer:
    torch.manual_seed(0)
    return Transformer(TransformerConfig(vocab_size=vocab, d_model=32, heads=2, encoder_layers=1,
                                         decoder_layers=1, d_ff=64, max_positions=64))


def test_transformer_steps_reduce_the_loss_on_a_fixed_batch():
    tok = date_train.date_tokenizer()
    batch = date_train.batch_maker(tok, seed=0, batch_size=16)(0)
    losses = _steps_on_one_batch(_tiny_transformer(tok.get_vocab_size()), date_train.loss_fn, batch)
    assert losses[-1] < 0.6 * losses[0]


def test_batches_are_pure_functions_of_seed_and_step():
    tok = date_train.date_tokenizer()
    make = date_train.batch_maker(tok, seed=1, batch_size=8)
    assert all(torch.equal(make(5)[k], date_train.batch_maker(tok, 1, 8)(5)[k]) for k in make(5))
    assert not torch.equal(make(5)["labels"], make(6)["labels"])


@pytest.fixture(scope="module")
def bert_data(text_topics):
    return bert_train.prepare_data(600, text_topics)


def _tiny_bert(vocab: int, layers: int = 1) -> Bert:
    torch.manual_seed(0)
    return Bert(BertConfig(vocab_size=vocab, d_model=32, heads=2, layers=layers, d_ff=64, max_positions=32))


@pytest.mark.parametrize("layers", [1, 3])
def test_bert_logits_at_masked_positions_are_the_models_logits(bert_data, layers):
    model = _tiny_bert(600, layers).eval()
    batch = bert_train.batch_maker(bert_data, seed=0, batch_size=6, length=32, short=0.5)(0)
    where = batch["labels"] != -100
    where[0] = False  # a row with nothing selected
    with torch.no_grad():
        full = model(batch["input_ids"], batch["attention_mask"]).logits[where]
        picked = bert_train.mlm_logits_at(model, batch["input_ids"], batch["attention_mask"], where)
    assert picked.shape == full.shape
    torch.testing.assert_close(picked, full)


def test_positions_can_start_from_the_sinusoidal_table():
    model = _tiny_bert(600)
    bert_train.start_positions_from_sinusoids(model, 0.5)
    torch.testing.assert_close(model.positions.weight.detach(), 0.5 * sinusoidal_table(32, 32))
    assert model.positions.weight.requires_grad


def test_bert_steps_reduce_the_loss_on_a_fixed_batch(bert_data):
    batch = bert_train.batch_maker(bert_data, seed=0, batch_size=16, length=32, short=0.0)(3)
    assert (batch["labels"] != -100).sum() > 20
    losses = _steps_on_one_batch(_tiny_bert(600), bert_train.loss_fn, batch)
    assert losses[-1] < 0.8 * losses[0]


def test_bert_data_holds_out_documents_from_vocabulary_and_stream(text_topics, bert_data):
    train_docs, test_docs = text.split(text_topics)
    assert bert_data.test_docs == test_docs and bert_data.train_docs == len(train_docs)
    assert len(bert_data.train_stream) == len(
        text.token_stream(bert_data.tokenizer, train_docs, bert_data.special["sep"])
    )
    assert bert_data.counts.sum() == len(bert_data.train_stream) - len(train_docs)  # all but the [SEP]s


def test_training_is_deterministic_for_a_seed(tmp_path):
    tok = date_train.date_tokenizer()

    def run():
        model = _tiny_transformer(tok.get_vocab_size())
        train(model, date_train.batch_maker(tok, 2, 8), date_train.loss_fn, TrainConfig(steps=4, warmup=1),
              progress=False)
        return model.state_dict()

    a, b = run(), run()
    assert all(torch.equal(a[k], b[k]) for k in a)


# -- evaluation arithmetic on known cases --------------------------------------------------------


def test_topk_and_unigram_accuracy():
    logits = np.array([[0.0, 3, 2, 1], [5, 0, 1, 2], [0, 1, 2, 3]])
    labels = np.array([1, 2, 0])
    assert ev.topk_accuracy(logits, labels, ks=(1, 2, 4)) == {1: pytest.approx(1 / 3), 2: pytest.approx(1 / 3), 4: 1.0}
    counts = np.array([0, 10, 5, 7])
    assert ev.unigram_accuracy(counts, np.array([1, 1, 3, 2]), ks=(1, 2)) == {1: 0.5, 2: 0.75}
    figures = ev.masked_figures(logits, labels, counts)
    assert figures["baseline_top1"] == pytest.approx(1 / 3) and figures["top1_ratio"] == pytest.approx(1.0)


def test_alignment_shares_and_exact_match():
    examples = dates.generate(6, seed=0, split="test")
    width = max(len(e.source) for e in examples)
    on_span = np.zeros((6, 11, width))
    half = np.zeros((6, 11, width))
    for i, e in enumerate(examples):
        for field, (t0, t1) in dates.TARGET_SPANS.items():
            s0, s1 = e.spans[field]
            on_span[i, t0:t1, s0] = 1.0
            half[i, t0:t1, s0] = 0.5
            half[i, t0:t1, (s1 % len(e.source)) if s1 < len(e.source) else s0 - 1] = 0.5  # just outside
    shares = ev.alignment_shares(on_span, examples)
    assert {k: shares[k] for k in (*dates.FIELDS, "all")} == {"year": 1.0, "month": 1.0, "day": 1.0, "all": 1.0}
    assert ev.alignment_shares(half, examples)["all"] == pytest.approx(0.5)
    spread = np.zeros_like(on_span)
    for i, e in enumerate(examples):
        spread[i, :, : len(e.source)] = 1 / len(e.source)
    even = ev.alignment_shares(spread, examples)
    assert even["all"] == pytest.approx(even["uniform"]) and 0.05 < even["uniform"] < 0.5
    assert ev.exact_match(["2026-11-27", "x"], ["2026-11-27", "2026-11-28"]) == 0.5


def test_decode_outputs_stops_at_the_first_special_token():
    tok = date_train.date_tokenizer()
    ids = [tok.token_to_id(t) for t in ["[BOS]", *"2026-11-27", "[EOS]", "[PAD]"]]
    ids2 = [tok.token_to_id(t) for t in ["[BOS]", *"19", "[EOS]", *"99", *["[PAD]"] * 7]]
    assert ev.decode_outputs(tok, np.array([ids, ids2])) == ["2026-11-27", "19"]


# -- the pipelines, end to end at toy size -------------------------------------------------------


def _metadata(path) -> contract.ModelMetadata:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    contract.check_graph_io(meta, [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    assert {contract.stack_output(n, s) for n in contract.OPTIONAL_STACK_OUTPUTS for s in meta.stacks} <= {
        o.name for o in session.get_outputs()
    }
    return meta


def test_transformer_pipeline_exports_a_contract_file_with_its_figures(text_transformer_run, text_tiny_date_task):
    provenance, out, work = text_transformer_run
    meta = _metadata(out / "transformer.onnx")
    assert meta.kind == "seq2seq" and meta.special_tokens == SEQ2SEQ_SPECIAL
    assert meta.provenance == provenance
    for key in ("exact_match_torch", "exact_match_onnx", "alignment_torch", "alignment_onnx", "train_seconds"):
        assert key in provenance
    assert provenance["steps"] == text_tiny_date_task.steps and provenance["seed"] == 3
    assert provenance["exact_match_onnx"] == pytest.approx(provenance["exact_match_torch"], abs=0.05)
    for field in (*dates.FIELDS, "all", "uniform"):
        assert provenance["alignment_onnx"][field] == pytest.approx(provenance["alignment_torch"][field], abs=0.02)


def test_onnx_greedy_decoding_matches_pytorch(text_transformer_run):
    _, out, work = text_transformer_run
    (checkpoint,) = work.glob("transformer-*/model.safetensors")
    model, _ = load_model(checkpoint)
    onnx_model = ev.OnnxModel(out / "transformer.onnx")
    arrays = dates.encode(onnx_model.tokenizer, dates.generate(12, seed=9, split="test"), SEQ2SEQ_SPECIAL)
    got = ev.greedy_decode(onnx_model, arrays["src_ids"], arrays["src_mask"], 12)
    want = model.eval().greedy_decode(
        torch.from_numpy(arrays["src_ids"]), torch.from_numpy(arrays["src_mask"]),
        onnx_model.token_id("bos"), onnx_model.token_id("eos"), 12,
    )
    assert got.tolist() == want.tolist()


def test_checkpoints_resume_and_re_export(text_transformer_run, text_tiny_date_task, tmp_path):
    provenance, out, work = text_transformer_run
    (checkpoint,) = work.glob("transformer-*/model.safetensors")
    again = export_checkpoint(checkpoint, tmp_path / "again.onnx")
    assert _metadata(again).provenance == provenance
    # A second run over the same work dir finds the finished run and trains no further.
    resumed = date_train.train_transformer(tmp_path / "out", work, seed=3, task=text_tiny_date_task, progress=False)
    assert resumed["steps_this_run"] == 0
    assert resumed["exact_match_onnx"] == provenance["exact_match_onnx"]


def test_bert_pipeline_exports_a_contract_file_with_its_figures(text_bert_run, text_tiny_bert_task):
    provenance, out, work = text_bert_run
    meta = _metadata(out / "bert.onnx")
    assert meta.kind == "bert-mlm" and meta.special_tokens["mask"] == "[MASK]"
    assert meta.provenance == provenance
    assert meta.stacks["encoder"].layers == text_tiny_bert_task.model.layers
    # The file's weights are float16 (the torch figures are float32's): the figures hardly move.
    for key in ("top1", "top5", "baseline_top1", "baseline_top5", "top1_ratio", "top5_ratio"):
        assert provenance[f"{key}_onnx"] == pytest.approx(provenance[f"{key}_torch"], abs=0.02)
        assert provenance[f"{key}_unseen_onnx"] == pytest.approx(provenance[f"{key}_unseen_torch"], abs=0.02)
    assert provenance["masked_positions_onnx"] == provenance["masked_positions_torch"] > 100
    assert provenance["masked_positions_unseen_onnx"] == provenance["masked_positions_unseen_torch"] > 100
    assert 0 < provenance["single_token_words"] <= 1 and 0 < provenance["single_token_words_unseen"] <= 1
    initializers = {t.name: t.data_type for t in onnx.load(str(out / "bert.onnx")).graph.initializer}
    assert initializers[meta.embedding] == onnx.TensorProto.FLOAT16
    assert 0 < provenance["baseline_top1_torch"] <= provenance["baseline_top5_torch"] < 0.5
    (checkpoint,) = work.glob("bert-*/model.safetensors")
    _, extra = load_model(checkpoint)
    assert extra["export"]["provenance"] == provenance


def test_bert_wordpiece_is_embedded(text_bert_run, text_tiny_bert_task):
    _, out, _ = text_bert_run
    model = ev.OnnxModel(out / "bert.onnx")
    assert model.tokenizer.get_vocab_size() == text_tiny_bert_task.vocab_size
    enc = model.tokenizer.encode("Return the value.")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"


@pytest.mark.slow  # the default model, evaluated on 2,000 held-out dates twice: about 15 s
def test_cli_trains_and_exports_the_transformer(tmp_path, capsys):
    code = cli_main(["train", "transformer", "--steps", "2", "--seed", "4",
                     "--out-dir", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "exact_match_onnx" in printed and "alignment_onnx" in printed
    meta = _metadata(tmp_path / "out" / "transformer.onnx")
    assert meta.provenance["steps"] == 2 and meta.provenance["seed"] == 4
    assert (tmp_path / "work" / "transformer-seed4-steps2" / "last.safetensors").exists()
    assert not torch.are_deterministic_algorithms_enabled()  # switched on for training only


def test_training_under_the_cli_is_bit_reproducible(tmp_path):
    """The CLI trains with deterministic kernels: two runs of the real date model agree exactly."""
    from export.train.run import deterministic

    tok = date_train.date_tokenizer()
    config = dataclasses.replace(date_train.DateTask().model, vocab_size=tok.get_vocab_size())

    def run():
        torch.manual_seed(0)
        model = Transformer(config)
        with deterministic():
            train(model, date_train.batch_maker(tok, 0, 128), date_train.loss_fn, TrainConfig(steps=20, warmup=5),
                  progress=False)
        return model.state_dict()

    a, b = run(), run()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_tokenizer_wordpiece_vocabulary_fits(text_topics):
    tok = bert_wordpiece((d.text for d in text_topics[:10]), vocab_size=300)
    assert tok.get_vocab_size() <= 300


def test_default_recipes_are_the_shipped_sizes():
    """The defaults are what `attention-export train` runs; keep them within the assets' budget."""
    date_task, bert_task = date_train.DateTask(), bert_train.BertTask()
    assert date_task.held_out == 2000
    assert bert_task.model.max_positions == 128 and bert_task.model.dropout == 0.0
    models = [
        Transformer(dataclasses.replace(date_task.model, vocab_size=99)),
        Bert(dataclasses.replace(bert_task.model, vocab_size=bert_task.vocab_size)),
    ]
    sizes = [sum(p.numel() for p in m.parameters()) for m in models]
    # The Transformer's weights are float32 in its file, BERT's float16: 12 MB at most for BERT.
    assert sizes[1] * 2 < 12e6 and sizes[0] * 4 + sizes[1] * 2 < 16e6
