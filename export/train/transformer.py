"""Train the encoder-decoder Transformer to normalise dates: "Friday, 27 November 2026" -> "2026-11-27".

Characters in, characters out, one shared character vocabulary. Every batch is generated
afresh from (seed, step); held-out dates are calendar days the training split never draws.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from explorer import contract
from export.data import dates
from export.models import Transformer, TransformerConfig
from export.tokenizer import SEQ2SEQ_SPECIAL, character_level
from export.train.finish import finish
from export.train.loop import TrainConfig, train_run

ISO_LENGTH = len("2026-11-27")


@dataclass
class DateTask:
    steps: int = 1000
    batch_size: int = 128
    lr: float = 1e-3
    warmup: int = 200
    bf16: bool = False
    held_out: int = 2000
    model: TransformerConfig = field(
        default_factory=lambda: TransformerConfig(
            d_model=128, heads=4, encoder_layers=2, decoder_layers=2, d_ff=512, max_positions=64
        )
    )


def date_tokenizer():
    return character_level(special=SEQ2SEQ_SPECIAL)


def to_tensors(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def batch_maker(tokenizer, seed: int, batch_size: int):
    """make_batch(step): a pure function of (seed, step), so resumed runs see the same data."""

    def make_batch(step: int) -> dict[str, torch.Tensor]:
        examples = dates.generate(batch_size, seed=f"{seed}:{step}", split="train")
        return to_tensors(dates.encode(tokenizer, examples, SEQ2SEQ_SPECIAL))

    return make_batch


def loss_fn(model: Transformer, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy of the next character; metrics: character accuracy and the share of
    whole dates right under teacher forcing."""
    out = model(batch["src_ids"], batch["src_mask"], batch["tgt_ids"], batch["tgt_mask"])
    labels = batch["labels"]
    loss = F.cross_entropy(out.logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
    with torch.no_grad():
        real = labels != -100
        right = (out.logits.argmax(-1) == labels) | ~real
        metrics = {"acc": float(right[real].float().mean()), "exact": float(right.all(-1).float().mean())}
    return loss, metrics


@torch.no_grad()
def evaluate_torch(model: Transformer, tokenizer, examples: list[dates.DateExample]) -> dict:
    """Greedy decoding in PyTorch: exact match, and the alignment of the decoded outputs."""
    from export.train.evaluate_text import alignment_shares, decode_outputs, exact_match

    model.eval()
    arrays = to_tensors(dates.encode(tokenizer, examples, SEQ2SEQ_SPECIAL))
    bos, eos = (tokenizer.token_to_id(SEQ2SEQ_SPECIAL[r]) for r in ("bos", "eos"))
    out = model.greedy_decode(arrays["src_ids"], arrays["src_mask"], bos, eos, ISO_LENGTH + 2)
    predictions = decode_outputs(tokenizer, out.numpy())
    tgt = torch.full((len(examples), ISO_LENGTH + 1), model.config.pad_id, dtype=torch.long)
    tgt[:, : min(out.shape[1], ISO_LENGTH + 1)] = out[:, : ISO_LENGTH + 1]
    run = model(arrays["src_ids"], arrays["src_mask"], tgt, torch.ones_like(tgt))
    cross = run.stacks["cross"].probs[-1].mean(1).numpy()  # last layer, heads averaged: (B, T, S)
    return {
        "exact_match": exact_match(predictions, [e.target for e in examples]),
        "alignment": alignment_shares(cross, examples),
    }


DESCRIPTION = ("Rewrites dates as people write them in ISO 8601, step by step: cross-attention shows which "
               "source characters each output character reads.")


def figures(provenance: dict) -> tuple[contract.Figure, ...]:
    """The held-out figures as a reader wants them, from the exported file's own measurement."""
    alignment = provenance["alignment_onnx"]
    return (
        contract.Figure(f"exact match on {provenance['held_out_dates']:,} held-out dates",
                        provenance["exact_match_onnx"], "%"),
        contract.Figure("cross-attention on the right field (year, month, day)", alignment["all"], "%",
                        alignment["uniform"], "uniform attention"),
    )


def train_transformer(
    out_dir: str | Path, work_dir: str | Path, seed: int = 0, steps: int | None = None,
    task: DateTask | None = None, progress: bool = True,
) -> dict:
    """Train, evaluate on held-out dates (PyTorch and the exported ONNX file), export
    `out_dir/transformer.onnx` with the figures in its provenance. Returns the figures."""
    from export.train.evaluate_text import evaluate_dates

    task = task or DateTask()
    if steps is not None:
        task = dataclasses.replace(task, steps=steps)
    tokenizer = date_tokenizer()
    config = dataclasses.replace(task.model, vocab_size=tokenizer.get_vocab_size(), pad_id=0)
    assert tokenizer.token_to_id(SEQ2SEQ_SPECIAL["pad"]) == config.pad_id

    train_config = TrainConfig(
        steps=task.steps, lr=task.lr, warmup=min(task.warmup, task.steps // 5), seed=seed, bf16=task.bf16
    )
    run = train_run("transformer", lambda: Transformer(config), batch_maker(tokenizer, seed, task.batch_size),
                    loss_fn, train_config, work_dir, progress)

    held_out = dates.generate(task.held_out, seed=seed, split="test")
    torch_figures = evaluate_torch(run.model, tokenizer, held_out)

    def measure_onnx(path: Path) -> dict:
        figures = evaluate_dates(path, held_out)
        return {
            "exact_match_onnx": figures["exact_match"],
            "alignment_onnx": figures["alignment"],
            "alignment_note": (
                "share of last-layer cross-attention mass (heads averaged) that each output character of "
                "the year, month and day puts on that field's span in the source, over held-out dates; "
                "uniform: the share if attention were spread evenly over the source"
            ),
        }

    return finish(
        run, out_dir,
        about={
            "task": "date normalisation: a date as people write it -> ISO 8601 (YYYY-MM-DD)",
            "data": (
                f"generated by export.data.dates: {len(dates.FAMILIES)} families (" + "; ".join(dates.FAMILIES)
                + f"), mixed case; years {dates.FIRST_DAY.year}-{dates.LAST_DAY.year}, two-digit years "
                f"{dates.TWO_DIGIT_YEARS[0]}-{dates.TWO_DIGIT_YEARS[1]}; held out: one calendar day in ten, "
                "never drawn for training"
            ),
            "tokenizer": "one token per character (tokenizers WordLevel), shared by source and target",
        },
        settings={"batch_size": task.batch_size, "lr": task.lr, "bf16": task.bf16},
        measured_in_torch={
            "held_out_dates": task.held_out,
            "exact_match_torch": torch_figures["exact_match"],
            "alignment_torch": torch_figures["alignment"],
        },
        measure_onnx=measure_onnx, figures_of=figures, description=DESCRIPTION,
        name="Date normaliser (Transformer)", tokenizer_json=tokenizer.to_str(), special_tokens=SEQ2SEQ_SPECIAL,
    )
