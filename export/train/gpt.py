"""Train a GPT to continue Python: next-token prediction on the standard library's own source.

A byte-level BPE vocabulary is trained on the training files; every step draws windows of the
training token stream anywhere, plus a few rows of random tokens repeated (only the repeats
labelled), which teach the model to copy what followed an earlier occurrence: induction heads,
which the app's head table then finds. Held-out files give the figures: next-token top-1 and
top-5 against the baseline that always answers the most frequent training tokens, and the best
induction score on 2 x 50 repeated random tokens, measured on the exported file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from explorer import contract
from export.data import code, text
from export.models import GPT, GPTConfig
from export.tokenizer import END_OF_TEXT, GPT_SPECIAL, byte_level_bpe
from export.train.bert import start_positions_from_sinusoids
from export.train.finish import finish
from export.train.loop import TrainConfig, train_run


@dataclass
class GPTTask:
    steps: int = 2000
    batch_size: int = 16
    # Of each batch, rows of random tokens repeated, for induction: all of them at first, while the
    # learning rate is high (an induction head forms abruptly once enough repeats are seen), then a
    # few, so that it stays while the steps go to the code. Measured here: a constant 4 of 16 in a
    # 4-layer model formed none in 1,200 steps, nor 10 of 16 for the first 600; a 2-layer model on
    # repeats alone had one (0.5) by step 800.
    repeated_rows: int = 4
    early_repeated_rows: int = 16
    early_steps: int = 700
    # Learned positions start from the sine/cosine table (times this): a shift by one position is
    # then a fixed rotation, which a previous-token head, the first half of an induction head, can
    # find early.
    position_start: float = 0.028
    # Token vectors start at about unit length (std 0.1, not GPT-2's 0.02 for d 768): a random token
    # then stands out from the positions, so a head can find its earlier copy. At 0.02, pilots here
    # (d 128, repeats only) stayed at ln(vocab) for 1,000 steps; at 0.1 an induction head formed.
    embedding_std: float = 0.1
    lr: float = 2e-3
    warmup: int = 100
    bf16: bool = True
    vocab_size: int = 4096
    held_out_windows: int = 256
    model: GPTConfig = field(
        default_factory=lambda: GPTConfig(d_model=128, heads=4, layers=2, d_ff=512, max_positions=256, dropout=0.0)
    )


@dataclass
class GPTData:
    tokenizer: object
    train_stream: np.ndarray  # training files' tokens end to end, <|endoftext|> before each
    test_stream: np.ndarray
    counts: np.ndarray  # (vocab,) unigram counts of the training stream, <|endoftext|> 0
    train_files: int
    test_files: int

    @property
    def end_id(self) -> int:
        return self.tokenizer.token_to_id(END_OF_TEXT)


def prepare_data(vocab_size: int, docs: list[text.Document] | None = None) -> GPTData:
    train_docs, test_docs = code.split(docs if docs is not None else code.stdlib_sources())
    tokenizer = byte_level_bpe((d.text for d in train_docs), vocab_size)
    end = tokenizer.token_to_id(END_OF_TEXT)
    train_stream = code.token_stream(tokenizer, train_docs, end)
    counts = text.unigram_counts(train_stream, tokenizer.get_vocab_size(), [end])
    return GPTData(tokenizer, train_stream, code.token_stream(tokenizer, test_docs, end), counts,
                   len(train_docs), len(test_docs))


def batch_maker(data: GPTData, seed: int, task: GPTTask, length: int):
    """make_batch(step): a pure function of (seed, step). Rows of code, then the repeated rows."""
    vocab = data.tokenizer.get_vocab_size()

    def make_batch(step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([seed, 0, step])
        repeated_rows = task.early_repeated_rows if step < task.early_steps else task.repeated_rows
        windows = text.random_windows(data.train_stream, length + 1, task.batch_size - repeated_rows, rng)
        repeated, repeated_labels = code.repeated_span_rows(repeated_rows, length, vocab, data.end_id, rng)
        inputs = np.concatenate([windows[:, :-1], repeated])
        labels = np.concatenate([windows[:, 1:], repeated_labels])
        return {"input_ids": torch.from_numpy(inputs), "labels": torch.from_numpy(labels)}

    return make_batch


def initial_model(config: GPTConfig, task: GPTTask) -> GPT:
    """The untrained GPT: positions from the sine/cosine table, token vectors at the task's size."""
    model = GPT(config)
    start_positions_from_sinusoids(model, task.position_start)
    with torch.no_grad():
        model.embed.weight.normal_(0.0, task.embedding_std)
    return model


def loss_fn(model: GPT, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    logits = model(batch["input_ids"]).logits.float()  # (B, T, vocab)
    labels = batch["labels"]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
    with torch.no_grad():
        known = labels != -100
        metrics = {"acc": float((logits.argmax(-1) == labels)[known].float().mean())}
    return loss, metrics


def held_out_windows(data: GPTData, length: int, count: int) -> np.ndarray:
    """(count, length + 1) consecutive windows of the held-out stream, spread evenly over it."""
    rows = text.windows(data.test_stream, length + 1)
    return rows[np.linspace(0, len(rows) - 1, min(count, len(rows))).astype(int)]


@torch.no_grad()
def evaluate_torch(model: GPT, windows: np.ndarray, counts: np.ndarray) -> dict:
    from export.train.evaluate_text import next_token_figures

    model.eval()
    logits = [model(torch.from_numpy(windows[i : i + 32, :-1])).logits.float().numpy()
              for i in range(0, len(windows), 32)]
    return next_token_figures(np.concatenate(logits), windows[:, 1:], counts)


# Repeated names, as code has them: the induction heads have something to copy.
SAMPLE_TEXT = "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return"
DESCRIPTION = ("Continues Python code it never saw, token by token: generate step by step and "
               "see what each new token attends to.")


def figures(provenance: dict) -> tuple[contract.Figure, ...]:
    """The held-out figures as a reader wants them, from the exported file's own measurement."""
    return (
        contract.Figure("next-token top-1 on held-out files", provenance["top1_onnx"], "%",
                        provenance["baseline_top1_onnx"], "unigram baseline"),
        contract.Figure("next-token top-5 on held-out files", provenance["top5_onnx"], "%",
                        provenance["baseline_top5_onnx"], "unigram baseline"),
        contract.Figure(f"best induction head ({provenance['induction_head']}) on 2 x 50 repeated random tokens",
                        provenance["induction_score"]),
    )


def train_gpt(
    out_dir: str | Path, work_dir: str | Path, seed: int = 0, steps: int | None = None,
    task: GPTTask | None = None, docs: list[text.Document] | None = None, progress: bool = True,
) -> dict:
    """Train, evaluate on held-out files (PyTorch and the exported ONNX file), export
    `out_dir/gpt.onnx` with the figures in its provenance. Returns the figures."""
    from export.train.evaluate_text import evaluate_gpt

    task = task or GPTTask()
    if steps is not None:
        task = dataclasses.replace(task, steps=steps)
    data = prepare_data(task.vocab_size, docs)
    config = dataclasses.replace(task.model, vocab_size=data.tokenizer.get_vocab_size(), pad_id=data.end_id)
    train_config = TrainConfig(
        steps=task.steps, lr=task.lr, warmup=min(task.warmup, task.steps // 5), seed=seed, bf16=task.bf16
    )
    make_batch = batch_maker(data, seed, task, config.max_positions)
    run = train_run("gpt", lambda: initial_model(config, task), make_batch, loss_fn, train_config, work_dir, progress)

    windows = held_out_windows(data, config.max_positions, task.held_out_windows)
    torch_figures = evaluate_torch(run.model, windows, data.counts)
    return finish(
        run, out_dir,
        about={
            "task": "next-token prediction (decoder-only GPT, causal self-attention)",
            "data": code.describe(),
            "tokenizer": f"byte-level BPE ({config.vocab_size} tokens) trained with tokenizers on the training files",
            "train_files": data.train_files,
            "train_tokens": int(len(data.train_stream)),
            "held_out_files": data.test_files,
        },
        settings={
            "batch_size": task.batch_size,
            "repeated_rows": (f"{task.early_repeated_rows} rows of each batch for the first {task.early_steps} steps, "
                              f"then {task.repeated_rows}: random tokens repeated, only repeats labelled"),
            "sequence_length": config.max_positions,
            "lr": task.lr,
            "bf16": task.bf16,
            "positions_start": f"sinusoidal table x {task.position_start}",
            "token_embedding_start": f"normal, std {task.embedding_std}",
        },
        measured_in_torch={
            **{f"{k}_torch": v for k, v in torch_figures.items()},
            "baseline": "unigram frequency: always the k most frequent training tokens, at the same positions",
        },
        measure_onnx=lambda path: evaluate_gpt(path, windows, data.counts),
        figures_of=figures, description=DESCRIPTION, sample_text=SAMPLE_TEXT,
        name="GPT (Python source)", tokenizer_json=data.tokenizer.to_str(), special_tokens=GPT_SPECIAL,
    )
