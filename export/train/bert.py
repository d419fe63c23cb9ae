"""Train BERT's masked language model on the English prose of the documentation on this machine.

A WordPiece vocabulary is trained on the training documents (`export.data.english`); every step
draws windows of the training token stream anywhere, wraps them in [CLS] ... [SEP] and masks
them the BERT way (15% of tokens; of those 80% [MASK], 10% a random token, 10% unchanged).
Held-out documents give the figures: top-1 and top-5 accuracy at masked positions, next to the
baseline that always answers the most frequent training tokens, on the same positions; and the
same on a kind of English never trained on, the licence texts (`english.licenses`). The file
stores its weights in float16 (export/half.py), which a 12,000-piece vocabulary needs to ship.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from explorer import contract
from export.data import english, text
from export.layers import sinusoidal_table
from export.models import Bert, BertConfig
from export.tokenizer import BERT_SPECIAL, bert_wordpiece, single_token_share
from export.train.finish import finish
from export.train.loop import TrainConfig, train_run


@dataclass
class BertTask:
    steps: int = 2700
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 100
    bf16: bool = True
    vocab_size: int = 12000  # common English words whole: 99% of the 1,000 commonest held-out words
    short: float = 0.1  # share of training sequences cut short
    position_start: float = 0.028  # sinusoidal start of the learned positions, this times the table; 0: random
    held_out_windows: int = 1024  # of the held-out documents' windows, spread evenly: ONNX returns every logit
    model: BertConfig = field(
        default_factory=lambda: BertConfig(d_model=256, heads=4, layers=2, d_ff=1024, max_positions=128, dropout=0.0)
    )


@dataclass
class BertData:
    tokenizer: object
    train_stream: np.ndarray  # training documents' tokens end to end, [SEP] between documents
    test_docs: list[text.Document]
    counts: np.ndarray  # (vocab,) unigram counts of the training stream, special tokens 0
    train_docs: int
    unseen: list[text.Document]  # a kind of English not trained on at all

    @property
    def special(self) -> dict[str, int]:
        return text.special_ids(self.tokenizer)


def prepare_data(
    vocab_size: int, docs: list[text.Document] | None = None, unseen: list[text.Document] | None = None
) -> BertData:
    train_docs, test_docs = text.split(docs if docs is not None else english.corpus())
    tokenizer = bert_wordpiece((d.text for d in train_docs), vocab_size)
    special = text.special_ids(tokenizer)
    stream = text.token_stream(tokenizer, train_docs, special["sep"])
    counts = text.unigram_counts(stream, tokenizer.get_vocab_size(), list(special.values()))
    unseen = unseen if unseen is not None else english.licenses()
    return BertData(tokenizer, stream, test_docs, counts, len(train_docs), unseen)


def batch_maker(data: BertData, seed: int, batch_size: int, length: int, short: float):
    """make_batch(step): a pure function of (seed, step)."""
    special, vocab = data.special, data.tokenizer.get_vocab_size()

    def make_batch(step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([seed, 0, step])
        rows = text.random_windows(data.train_stream, length - 2, batch_size, rng)
        batch = text.masked_batch(rows, special, vocab, rng, short=short)
        return {k: torch.from_numpy(v) for k, v in batch.items()}

    return make_batch


def mlm_logits_at(model: Bert, input_ids: torch.Tensor, attention_mask: torch.Tensor, where: torch.Tensor):
    """Bert.forward's logits, but only at the positions `where` (B, T) selects: (N, vocab), in
    the order of ``logits[where]``. Training needs them at the 15% of masked positions only, so
    the last block runs its queries, feed-forward and the vocabulary projection there alone
    (keys and values still come from every position). Measured here, that makes a
    2-layer step about 1.5 times faster."""
    x = model.embed_norm(model.positions(model.embed(input_ids)))  # (B, T, D)
    *first, last = model.encoder.blocks
    for block in first:
        x = block(x, attention_mask, None).hidden
    counts = where.sum(1)  # (B,) selected positions per row
    picked = torch.argsort((~where).to(torch.int8), dim=1, stable=True)[:, : int(counts.max())]  # (B, M)
    q = x.gather(1, picked[..., None].expand(-1, -1, x.shape[-1]))  # (B, M, D) the selected rows of x
    # EncoderBlock.forward with queries q over keys and values x.
    att = last.attention(
        last.attention_sub.normed_input(q), last.attention_sub.normed_input(x), key_mask=attention_mask
    )
    y = last.attention_sub.add(q, att.output)
    y = last.feed_forward_sub.add(y, last.feed_forward(last.feed_forward_sub.normed_input(y)))
    y = model.encoder.final_norm(y)  # (B, M, D)
    real = torch.arange(picked.shape[1], device=q.device)[None, :] < counts[:, None]  # (B, M)
    h = model.mlm_transform(y[real])  # (N, D)
    return h @ model.embed.weight.T + model.mlm_bias  # (N, vocab)


def start_positions_from_sinusoids(model: Bert, scale: float) -> None:
    """Start BERT's learned positions from the sine/cosine table of the original Transformer,
    scaled to about the token embeddings' size. They stay learned; measured here, a start that
    already tells neighbours apart got the model past predicting frequent tokens in about half
    the steps of a random start."""
    with torch.no_grad():
        model.positions.weight.copy_(sinusoidal_table(*model.positions.weight.shape) * scale)


def loss_fn(model: Bert, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    where = batch["labels"] != -100
    logits = mlm_logits_at(model, batch["input_ids"], batch["attention_mask"], where).float()
    labels = batch["labels"][where]
    loss = F.cross_entropy(logits, labels)
    with torch.no_grad():
        top5 = logits.topk(5, dim=-1).indices
        metrics = {
            "acc": float((top5[:, 0] == labels).float().mean()),
            "top5": float((top5 == labels[:, None]).any(-1).float().mean()),
        }
    return loss, metrics


@torch.no_grad()
def evaluate_torch(model: Bert, batches: list[dict[str, np.ndarray]], counts: np.ndarray) -> dict:
    from export.train.evaluate_text import masked_figures

    model.eval()
    logits, labels = [], []
    for batch in batches:
        t = {k: torch.from_numpy(v) for k, v in batch.items()}
        where = t["labels"] != -100
        logits.append(mlm_logits_at(model, t["input_ids"], t["attention_mask"], where).float().numpy())
        labels.append(batch["labels"][batch["labels"] != -100])
    return masked_figures(np.concatenate(logits), np.concatenate(labels), counts)


DESCRIPTION = "Predicts hidden words in English sentences: double-click a word to mask it and read its top 5."
UNSEEN = "licence texts"  # how the figures name `BertData.unseen`


def figures(provenance: dict) -> tuple[contract.Figure, ...]:
    """The held-out figures as a reader wants them, from the exported file's own measurement."""

    def top(k: int, suffix: str, where: str) -> contract.Figure:
        return contract.Figure(f"masked-token top-{k}{where}", provenance[f"top{k}{suffix}_onnx"], "%",
                               provenance[f"baseline_top{k}{suffix}_onnx"], "unigram baseline")

    return (
        top(1, "", ""), top(5, "", ""),
        contract.Figure("held-out masked tokens", provenance["masked_positions_onnx"]),
        top(1, "_unseen", f", {UNSEEN} (never trained on)"), top(5, "_unseen", f", {UNSEEN} (never trained on)"),
        contract.Figure("commonest 1,000 held-out words kept whole", provenance["single_token_words"], "%"),
    )


def train_bert(
    out_dir: str | Path, work_dir: str | Path, seed: int = 0, steps: int | None = None,
    task: BertTask | None = None, docs: list[text.Document] | None = None, progress: bool = True,
) -> dict:
    """Train, evaluate on held-out documents (PyTorch and the exported ONNX file), export
    `out_dir/bert.onnx` with the figures in its provenance. Returns the figures."""
    from export.train.evaluate_text import evaluate_bert

    task = task or BertTask()
    if steps is not None:
        task = dataclasses.replace(task, steps=steps)
    data = prepare_data(task.vocab_size, docs)
    config = dataclasses.replace(task.model, vocab_size=data.tokenizer.get_vocab_size(), pad_id=data.special["pad"])

    def build_model() -> Bert:
        model = Bert(config)
        if task.position_start:
            start_positions_from_sinusoids(model, task.position_start)
        return model

    train_config = TrainConfig(
        steps=task.steps, lr=task.lr, warmup=min(task.warmup, task.steps // 5), seed=seed, bf16=task.bf16
    )
    make_batch = batch_maker(data, seed, task.batch_size, config.max_positions, task.short)
    run = train_run("bert", build_model, make_batch, loss_fn, train_config, work_dir, progress)

    length = config.max_positions - 2
    held_out = text.held_out_batches(data.tokenizer, data.test_docs, seed, length, max_windows=task.held_out_windows)
    unseen = text.held_out_batches(data.tokenizer, data.unseen, seed, length)
    torch_figures = evaluate_torch(run.model, held_out, data.counts)
    unseen_torch = evaluate_torch(run.model, unseen, data.counts)

    def measure_onnx(path: Path) -> dict:
        return {
            **{f"{k}_onnx": v for k, v in evaluate_bert(path, held_out, data.counts).items()},
            **{f"{k}_unseen_onnx": v for k, v in evaluate_bert(path, unseen, data.counts).items()},
        }

    return finish(
        run, out_dir,
        about={
            "task": "masked language model (BERT): 15% of tokens chosen, of those 80% [MASK], 10% random, 10% kept",
            "data": english.describe(),
            "tokenizer": f"WordPiece ({config.vocab_size} tokens) trained with tokenizers on the training documents",
            "single_token_words": single_token_share(data.tokenizer, (d.text for d in data.test_docs)),
            "single_token_words_unseen": single_token_share(data.tokenizer, (d.text for d in data.unseen)),
            "train_documents": data.train_docs,
            "train_tokens": int(len(data.train_stream)),
            "held_out_documents": len(data.test_docs),
            "unseen": f"{UNSEEN}: " + ", ".join(d.name.removeprefix("license:") for d in data.unseen),
        },
        settings={
            "batch_size": task.batch_size,
            "sequence_length": config.max_positions,
            "lr": task.lr,
            "bf16": task.bf16,
            "weights": "stored in float16 in the file (the large ones), computed in float32",
            "positions_start": (
                f"sinusoidal table x {task.position_start}" if task.position_start else "random (std 0.02)"
            ),
        },
        measured_in_torch={
            **{f"{k}_torch": v for k, v in torch_figures.items()},
            **{f"{k}_unseen_torch": v for k, v in unseen_torch.items()},
            "baseline": "unigram frequency: always the k most frequent training tokens, on the same masked positions",
        },
        measure_onnx=measure_onnx, figures_of=figures, description=DESCRIPTION, float16=True,
        name="BERT (English documentation MLM)", tokenizer_json=data.tokenizer.to_str(), special_tokens=BERT_SPECIAL,
    )
