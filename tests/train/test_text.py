"""BERT's data: the corpus Python carries, the WordPiece vocabulary, windows and masking."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from export.data import text
from export.tokenizer import BERT_SPECIAL, bert_wordpiece, character_wordpiece


def test_pydoc_topics_are_english_documentation(text_topics):
    assert len(text_topics) > 50
    assert [d.name for d in text_topics] == sorted(d.name for d in text_topics)
    words = " ".join(d.text for d in text_topics).split()
    assert len(words) > 50_000 and words.count("the") > 1000


def test_stdlib_docstrings_are_collected_deterministically_and_skip_what_they_must(text_python_docs):
    docs = text.stdlib_docstrings()
    in_corpus = [d for d in text_python_docs if not d.name.startswith("topic:")]
    assert [(d.name, d.text) for d in docs] == [(d.name, d.text) for d in in_corpus]
    assert len(docs) > 2000
    names = {d.name.split(".")[0] for d in docs}
    assert {"json", "collections", "asyncio"} <= names
    assert not names & text.SKIP_MODULES
    assert len({d.text for d in docs}) == len(docs), "docstrings are deduplicated"


def test_split_holds_out_one_document_in_ten(text_corpus):
    train, test = text.split(text_corpus)
    assert len(train) + len(test) == len(text_corpus)
    assert not {d.name for d in train} & {d.name for d in test}
    assert 0.07 < len(test) / len(text_corpus) < 0.13


@pytest.fixture(scope="module")
def tokenizer(text_topics):
    return bert_wordpiece((d.text for d in text_topics), vocab_size=800)


def test_wordpiece_is_trained_bert_style(tokenizer):
    assert tokenizer.get_vocab_size() == 800
    assert [tokenizer.token_to_id(t) for t in BERT_SPECIAL.values()] == [0, 1, 2, 3, 4]
    enc = tokenizer.encode("The WHILE statement repeats a Block.")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    assert "statement" in enc.tokens and any(t.startswith("##") for t in enc.tokens)
    assert tokenizer.decode(enc.ids) == "the while statement repeats a block."


# Trains a vocabulary on a few topics in a fresh process; prints the tokenizer's JSON.
TRAIN_IN_A_FRESH_PROCESS = """
from export.data import text
from export.tokenizer import bert_wordpiece
print(bert_wordpiece((d.text for d in text.pydoc_topics()[:40]), vocab_size=600).to_str())
"""


def test_wordpiece_vocabulary_is_the_same_in_every_process():
    """The trainer's hash maps are seeded per process: before the fix every run gave other ids."""
    runs = {subprocess.run([sys.executable, "-c", TRAIN_IN_A_FRESH_PROCESS], capture_output=True, text=True,
                           check=True).stdout for _ in range(3)}
    assert len(runs) == 1


def test_continuation_pieces_are_plain_vocabulary(tokenizer):
    """Passed to the trainer as special tokens for fixed ids, they must not stay special."""
    assert {t.content for t in tokenizer.get_added_tokens_decoder().values()} == set(BERT_SPECIAL.values())
    assert tokenizer.encode("##s", add_special_tokens=False).tokens == ["#", "#", "s"]
    assert tokenizer.decode(tokenizer.encode("functions").ids) == "functions"


def test_character_wordpiece_still_builds():
    tok = character_wordpiece(160)
    assert tok.get_vocab_size() == 160 and tok.encode("ab").tokens == ["[CLS]", "a", "##b", "[SEP]"]


def test_streams_windows_and_counts(tokenizer, text_topics):
    special = text.special_ids(tokenizer)
    stream = text.token_stream(tokenizer, text_topics[:3], special["sep"])
    assert (stream == special["sep"]).sum() == 3 and stream[-1] == special["sep"]
    rows = text.windows(stream, 50)
    assert rows.shape == (len(stream) // 50, 50) and (rows.ravel() == stream[: rows.size]).all()
    picked = text.random_windows(stream, 50, 7, np.random.default_rng(0))
    assert (picked == text.random_windows(stream, 50, 7, np.random.default_rng(0))).all()
    counts = text.unigram_counts(stream, tokenizer.get_vocab_size(), list(special.values()))
    assert counts[list(special.values())].sum() == 0
    assert counts.sum() == len(stream) - (stream == special["sep"]).sum()


def test_masking_follows_bert_proportions():
    rng = np.random.default_rng(0)
    ids = rng.integers(10, 1000, size=(400, 500))
    maskable = np.ones_like(ids, dtype=bool)
    maskable[:, :5] = False
    inputs, labels = text.mask_tokens(ids, maskable, rng, mask_id=4, random_ids=(5, 1000))
    chosen = labels != -100
    assert not chosen[:, :5].any() and (inputs[:, :5] == ids[:, :5]).all()
    assert (labels[chosen] == ids[chosen]).all() and (inputs[~chosen] == ids[~chosen]).all()
    assert abs(chosen.sum() / maskable.sum() - 0.15) < 0.005
    masked = inputs[chosen] == 4
    kept = inputs[chosen] == ids[chosen]
    swapped = ~masked & ~kept
    assert abs(masked.mean() - 0.8) < 0.01
    assert abs(swapped.mean() - 0.1) < 0.01
    # A random replacement can draw the original token (1 in 995); "kept" is 10% plus those.
    assert abs(kept.mean() - 0.1) < 0.01
    assert ((inputs[chosen][swapped] >= 5) & (inputs[chosen][swapped] < 1000)).all()


def test_masked_batch_wraps_pads_and_never_masks_special_tokens(tokenizer):
    special = text.special_ids(tokenizer)
    rng = np.random.default_rng(1)
    rows = rng.integers(5, tokenizer.get_vocab_size(), size=(300, 30))
    rows[:, 10] = special["sep"]  # a document boundary inside a window
    batch = text.masked_batch(rows, special, tokenizer.get_vocab_size(), rng, short=0.5)
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    assert ids.shape == mask.shape == labels.shape == (300, 32)
    assert (ids[:, 0] == special["cls"]).all()
    lengths = mask.sum(1)
    assert 100 < (lengths < 32).sum() < 200 and lengths.min() >= 8
    assert (ids[np.arange(300), lengths - 1] == special["sep"]).all()
    assert (ids[mask == 0] == special["pad"]).all()
    chosen = labels != -100
    assert not chosen[mask == 0].any()
    assert not np.isin(labels[chosen], list(special.values())).any()
    assert not chosen[:, [0, 11]].any()
    assert (mask == (np.arange(32)[None] < lengths[:, None])).all()


def test_held_out_batches_can_spread_fewer_windows_over_the_stream(tokenizer, text_topics):
    def unmasked(batches):
        return np.concatenate([np.where(b["labels"] != -100, b["labels"], b["input_ids"]) for b in batches])

    every = unmasked(text.held_out_batches(tokenizer, text_topics[:20], seed=3, length=30))
    spread = unmasked(text.held_out_batches(tokenizer, text_topics[:20], seed=3, length=30, max_windows=10))
    assert len(every) > 100
    assert (spread == every[np.linspace(0, len(every) - 1, 10).astype(int)]).all()  # the first and last among them


def test_held_out_batches_are_fixed_by_their_seed(tokenizer, text_topics):
    a = text.held_out_batches(tokenizer, text_topics[:5], seed=3, length=30, batch_size=16)
    b = text.held_out_batches(tokenizer, text_topics[:5], seed=3, length=30, batch_size=16)
    c = text.held_out_batches(tokenizer, text_topics[:5], seed=4, length=30, batch_size=16)
    assert all((x["labels"] == y["labels"]).all() for x, y in zip(a, b, strict=True))
    assert any((x["labels"] != y["labels"]).any() for x, y in zip(a, c, strict=True))
    assert all(x["attention_mask"].all() for x in a)
