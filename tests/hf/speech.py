"""A tiny random Whisper, saved as `save_pretrained` writes one: config.json, the weights, its feature
extractor's preprocessor_config.json (16 mel bins, a 1 s window: 100 frames, 50 encoder positions) and
a word-level tokenizer with Whisper's special tokens; and recordings to feed it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    PreTrainedTokenizerFast,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
)

from .conftest import SENTENCES

HEADS, LAYERS, WIDTH, MEL_BINS, POSITIONS = 4, 2, 32, 16, 50
SPECIAL = {"eos": "<|endoftext|>", "start": "<|startoftranscript|>", "unk": "<unk>"}
RATE = 16000


def tokenizer() -> PreTrainedTokenizerFast:
    vocab = list(SPECIAL.values()) + sorted({w for s in SENTENCES for w in s.split()})
    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(vocab)}, unk_token=SPECIAL["unk"]))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=SPECIAL["eos"], bos_token=SPECIAL["start"],
                                   unk_token=SPECIAL["unk"], pad_token=SPECIAL["eos"])


def save(folder: Path, name: str = "whisper") -> Path:
    tok = tokenizer()
    eos, start = tok.convert_tokens_to_ids(SPECIAL["eos"]), tok.convert_tokens_to_ids(SPECIAL["start"])
    config = WhisperConfig(vocab_size=len(tok), d_model=WIDTH, encoder_layers=LAYERS, decoder_layers=LAYERS,
                           encoder_attention_heads=HEADS, decoder_attention_heads=HEADS, encoder_ffn_dim=64,
                           decoder_ffn_dim=64, num_mel_bins=MEL_BINS, max_source_positions=POSITIONS,
                           max_target_positions=24, pad_token_id=eos, bos_token_id=eos, eos_token_id=eos,
                           decoder_start_token_id=start, suppress_tokens=None, begin_suppress_tokens=None,
                           init_std=0.3)
    torch.manual_seed(0)
    WhisperForConditionalGeneration(config).save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=MEL_BINS, chunk_length=2 * POSITIONS * 160 // RATE).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def reference(folder: Path):
    return WhisperForConditionalGeneration.from_pretrained(folder, attn_implementation="eager").eval()


def recording(seconds: float, pitch: float = 440.0, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """A tone that rises and a little noise: float32 samples at `rate`."""
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.02, len(t))
    return (0.4 * np.sin(2 * np.pi * pitch * t * (1 + t)) + noise).astype(np.float32)


def write(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    soundfile.write(str(path), samples, rate)  # the format from the suffix: .wav, .flac
    return path
