"""Held-out figures for the text models, measured on exported contract files through ONNX Runtime
(numpy only: no torch here), plus the arithmetic the PyTorch-side evaluation shares with it.

- Dates: greedy decoding, exact match against the ISO target, and the alignment share: of the
  last cross-attention layer's mass (heads averaged), the part that each output character of
  the year, month and day puts on the source span of that field.
- BERT: top-k accuracy at masked positions, next to the unigram-frequency baseline on the
  same positions.
- GPT: the same for the next token at every position of held-out windows, and the best
  induction score of the app's own head statistics (repeated random tokens).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from explorer import contract
from explorer.shared.feeds import complete_feeds
from explorer.shared.repetition import probe_ids, repetition_scores
from export.data import dates


class OnnxModel:
    """A contract file opened with ONNX Runtime on the CPU; head masks default to all ones."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        text = self.session.get_modelmeta().custom_metadata_map.get(contract.METADATA_KEY)
        self.meta = contract.parse_metadata(text)
        self.tokenizer = Tokenizer.from_str(self.meta.tokenizer) if self.meta.tokenizer else None
        self._inputs = {i.name for i in self.session.get_inputs()}

    def token_id(self, role: str) -> int:
        return self.tokenizer.token_to_id(self.meta.special_tokens[role])

    def run(self, outputs: list[str], **feed: np.ndarray) -> list[np.ndarray]:
        return self.session.run(outputs, complete_feeds(self.meta, feed, self._inputs))


# -- dates --------------------------------------------------------------------------------------


def greedy_decode(model: OnnxModel, src_ids: np.ndarray, src_mask: np.ndarray, max_len: int) -> np.ndarray:
    """(B, <= max_len) ids starting with bos; after eos each row holds pad."""
    bos, eos, pad = model.token_id("bos"), model.token_id("eos"), model.token_id("pad")
    out = np.full((src_ids.shape[0], 1), bos, dtype=np.int64)
    done = np.zeros(src_ids.shape[0], dtype=bool)
    for _ in range(max_len - 1):
        (logits,) = model.run(
            [contract.LOGITS], src_ids=src_ids, src_mask=src_mask, tgt_ids=out, tgt_mask=np.ones_like(out)
        )
        next_id = np.where(done, pad, logits[:, -1].argmax(-1))
        out = np.concatenate([out, next_id[:, None]], axis=1)
        done |= next_id == eos
        if done.all():
            break
    return out


def decode_outputs(tokenizer: Tokenizer, ids: np.ndarray) -> list[str]:
    """Greedy outputs (bos first) to text, stopping at the first special token."""
    special = set(tokenizer.get_added_tokens_decoder())
    texts = []
    for row in ids[:, 1:]:
        kept = []
        for i in row.tolist():
            if i in special:
                break
            kept.append(i)
        texts.append(tokenizer.decode(kept))
    return texts


def alignment_shares(cross, examples: list[dates.DateExample]) -> dict[str, float]:
    """`cross` (B, T, S), or B arrays (T, S): last-layer cross-attention, heads averaged, where
    query i is the decoder position that writes character i of the ISO output. For each field, the mean over
    examples and the field's output characters of the attention mass on the field's source span;
    "all" averages over the eight digit characters, and "uniform" is what "all" would be if
    attention were spread evenly over the source."""
    mass: dict[str, list[float]] = {f: [] for f in dates.FIELDS}
    uniform: list[float] = []
    for row, example in zip(cross, examples, strict=True):
        for field, (t0, t1) in dates.TARGET_SPANS.items():
            s0, s1 = example.spans[field]
            mass[field] += row[t0:t1, s0:s1].sum(-1).tolist()
            uniform += [(s1 - s0) / len(example.source)] * (t1 - t0)
    shares = {f: float(np.mean(v)) for f, v in mass.items()}
    shares["all"] = float(np.mean([x for v in mass.values() for x in v]))
    shares["uniform"] = float(np.mean(uniform))
    return shares


def evaluate_dates(path: str | Path, examples: list[dates.DateExample], batch_size: int = 500) -> dict:
    """Exact match of greedy ONNX decoding and the cross-attention alignment of the decoded outputs."""
    model = OnnxModel(path)
    predictions: list[str] = []
    cross_rows: list[np.ndarray] = []
    target_len = len(examples[0].target) + 2  # bos, the ISO date, eos
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        arrays = dates.encode(model.tokenizer, chunk, model.meta.special_tokens)
        out = greedy_decode(model, arrays["src_ids"], arrays["src_mask"], target_len)
        predictions += decode_outputs(model.tokenizer, out)
        # The decoder is causal: one pass over bos + the first ten outputs gives, at query i,
        # the attention that chose output character i.
        tgt = np.full((len(chunk), target_len - 1), model.token_id("pad"), dtype=np.int64)
        tgt[:, : min(out.shape[1], target_len - 1)] = out[:, : target_len - 1]
        (cross,) = model.run(
            [contract.attention_output("cross")],
            src_ids=arrays["src_ids"], src_mask=arrays["src_mask"], tgt_ids=tgt, tgt_mask=np.ones_like(tgt),
        )
        cross_rows += list(cross[-1].mean(axis=1))  # last layer, heads averaged: (B, T, S)
    return {
        "exact_match": exact_match(predictions, [e.target for e in examples]),
        "alignment": alignment_shares(cross_rows, examples),
        "predictions": predictions,
    }


def exact_match(predictions: list[str], targets: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(predictions, targets, strict=True)]))


# -- BERT ---------------------------------------------------------------------------------------


def topk_accuracy(logits: np.ndarray, labels: np.ndarray, ks: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    """`logits` (N, V) at N masked positions, `labels` (N,): the share whose label is among the k best."""
    order = np.argsort(-logits, axis=-1, kind="stable")[:, : max(ks)]
    hits = order == labels[:, None]
    return {k: float(hits[:, :k].any(-1).mean()) for k in ks}


def unigram_accuracy(counts: np.ndarray, labels: np.ndarray, ks: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    """The baseline that always answers the k most frequent training tokens."""
    ranked = np.argsort(-counts, kind="stable")
    return {k: float(np.isin(labels, ranked[:k]).mean()) for k in ks}


def evaluate_bert(path: str | Path, batches: list[dict[str, np.ndarray]], counts: np.ndarray) -> dict:
    """Top-1/top-5 on masked positions (labels != -100) of `batches` (input_ids, attention_mask,
    labels), and the unigram baseline on the same positions."""
    model = OnnxModel(path)
    picked, labels = [], []
    for batch in batches:
        (logits,) = model.run(
            [contract.LOGITS], input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        )
        where = batch["labels"] != -100
        picked.append(logits[where])
        labels.append(batch["labels"][where])
    logits, labels = np.concatenate(picked), np.concatenate(labels)
    return masked_figures(logits, labels, counts)


def masked_figures(logits: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> dict:
    model = topk_accuracy(logits, labels)
    base = unigram_accuracy(counts, labels)
    return {
        "masked_positions": int(len(labels)),
        "top1": model[1],
        "top5": model[5],
        "baseline_top1": base[1],
        "baseline_top5": base[5],
        "top1_ratio": model[1] / max(base[1], 1e-9),
        "top5_ratio": model[5] / max(base[5], 1e-9),
    }


# -- GPT ----------------------------------------------------------------------------------------


def next_token_figures(logits: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> dict:
    """`logits` (N, T, V) after each token of N windows, `labels` (N, T) the tokens that followed."""
    figures = masked_figures(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), counts)
    return {("positions" if k == "masked_positions" else k): v for k, v in figures.items()}


def evaluate_gpt(path: str | Path, windows: np.ndarray, counts: np.ndarray, batch_size: int = 32) -> dict:
    """Next-token top-1/top-5 on `windows` (N, T + 1) and the unigram baseline, through ONNX
    Runtime; and the best induction head as the app's head table measures it."""
    model = OnnxModel(path)
    logits = [model.run([contract.LOGITS], input_ids=rows[:, :-1], attention_mask=np.ones_like(rows[:, :-1]))[0]
              for rows in (windows[i : i + batch_size] for i in range(0, len(windows), batch_size))]
    figures = {f"{k}_onnx": v for k, v in next_token_figures(np.concatenate(logits), windows[:, 1:], counts).items()}
    return {**figures, **induction_figures(model)}


def induction_figures(model: OnnxModel) -> dict:
    """The best induction score on the probe the app's head table runs, and which head has it."""
    special = {model.tokenizer.token_to_id(token) for token in model.meta.special_tokens.values()} - {None}
    bos = model.token_id("bos") if "bos" in model.meta.special_tokens else None
    ids, start, span = probe_ids(model.tokenizer.get_vocab_size(), special, bos,
                                 model.meta.max_positions.get(contract.INPUT_IDS))
    feed = np.asarray([ids], np.int64)
    (attentions,) = model.run([contract.attention_output("decoder")], input_ids=feed, attention_mask=np.ones_like(feed))
    induction, _ = repetition_scores(attentions[:, 0], start, span)  # (layers, heads)
    layer, head = np.unravel_index(int(induction.argmax()), induction.shape)
    return {"induction_score": float(induction.max()), "induction_head": f"layer {layer} head {head}",
            "induction_span": span}
