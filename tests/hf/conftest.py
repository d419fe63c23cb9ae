"""Tiny random-initialised Hugging Face checkpoints, saved the way `save_pretrained` writes them,
and their imports, made once per test session."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in these tests may reach the network

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForMaskedLM,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    ViTConfig,
    ViTForImageClassification,
)
from transformers.utils import logging as hf_logging  # noqa: E402

from explorer import contract  # noqa: E402

hf_logging.disable_progress_bar()
hf_logging.set_verbosity_error()

SENTENCES = [
    "the cat sat on the mat",
    "a dog ran to the park and it was sunny",
    "the bird sang while the cat slept",
    "sunny days make the dog run",
]
BERT_SPECIAL = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
VIT_LABELS = {0: "cat", 1: "dog", 2: "bird"}
PREPROCESSOR = {
    "image_processor_type": "ViTImageProcessor",
    "do_resize": True,
    "size": {"height": 16, "width": 16},
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
}


def bert_tokenizer(special: dict[str, str] | None = None) -> PreTrainedTokenizerFast:
    """WordPiece over the sentences' words, with the fixed padding and truncation a real
    tokenizer.json often carries (the import must switch them off). `special`: role -> token,
    in id order (BERT's by default)."""
    special = special or BERT_SPECIAL
    words = sorted({w for s in SENTENCES for w in s.split()})
    vocab = list(dict.fromkeys(special.values())) + words + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    cls, sep, pad = special["cls"], special["sep"], special["pad"]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token=special["unk"]))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", special_tokens=[(cls, vocab.index(cls)), (sep, vocab.index(sep))]
    )
    tok.decoder = decoders.WordPiece()
    tok.enable_padding(pad_id=vocab.index(pad), pad_token=pad, length=32)
    tok.enable_truncation(max_length=32)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **{f"{role}_token": t for role, t in special.items()})


def gpt2_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on the sentences, as GPT-2's is on the web."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(SENTENCES, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")


def save_bert(folder: Path) -> Path:
    tokenizer = bert_tokenizer()
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40, pad_token_id=0)
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_gpt2(folder: Path) -> Path:
    tokenizer = gpt2_tokenizer()
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=4, n_positions=40,
                        bos_token_id=eos, eos_token_id=eos)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_vit(folder: Path) -> Path:
    config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                       image_size=16, patch_size=4, id2label=VIT_LABELS, label2id={v: k for k, v in VIT_LABELS.items()})
    torch.manual_seed(0)
    ViTForImageClassification(config).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR))
    return folder


SAVERS = {"bert": save_bert, "gpt2": save_gpt2, "vit": save_vit}
REFERENCE_CLASSES = {"bert": BertForMaskedLM, "gpt2": GPT2LMHeadModel, "vit": ViTForImageClassification}


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """name -> a checkpoint folder (config.json, model.safetensors, tokenizer or preprocessor files)."""
    root = tmp_path_factory.mktemp("checkpoints")
    return {name: save(root / name) for name, save in SAVERS.items()}


def reference_model(folder: Path, name: str):
    """transformers' own model with eager attention: the reference every number is checked against."""
    return REFERENCE_CLASSES[name].from_pretrained(folder, attn_implementation="eager").eval()


@dataclass
class Imported:
    name: str
    folder: Path
    path: Path
    session: ort.InferenceSession

    @property
    def metadata(self) -> contract.ModelMetadata:
        raw = self.session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY]
        return contract.parse_metadata(raw)

    @property
    def input_names(self) -> list[str]:
        """Every input the graph takes, those with a default (head masks, long inputs) included."""
        return [i.name for i in (*self.session.get_inputs(), *self.session.get_overridable_initializers())]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, feeds), strict=True))


@pytest.fixture(scope="session")
def imports(checkpoints, tmp_path_factory):
    """imports(name) -> that checkpoint imported with `attention-export hf`, once per session."""
    from export.hf import export_hf

    done: dict[str, Imported] = {}

    def get(name: str) -> Imported:
        if name not in done:
            path = export_hf(checkpoints[name], tmp_path_factory.mktemp("imported") / f"{name}.onnx")
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            done[name] = Imported(name, checkpoints[name], path, session)
        return done[name]

    return get


@pytest.fixture(params=["bert", "gpt2", "vit"])
def imported(request, imports) -> Imported:
    return imports(request.param)


def run_session(path: Path) -> tuple[ort.InferenceSession, contract.ModelMetadata]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session, contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])


def text_batch(vocab: int, batch: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask) (batch, length): random ids; every item after the first padded 3 tokens shorter."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(batch, length)).astype(np.int64)
    mask = np.ones((batch, length), np.int64)
    mask[1:, length - 3:] = 0
    return ids, mask


def image_batch(batch: int, seed: int, patches: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(pixels (batch, 3, 16, 16), patch mask (batch, 1 + patches)): items after the first hide patches."""
    rng = np.random.default_rng(seed)
    pixels = rng.standard_normal((batch, 3, 16, 16)).astype(np.float32)
    mask = np.ones((batch, 1 + patches), np.int64)
    for b in range(1, batch):
        mask[b, rng.choice(np.arange(1, 1 + patches), size=4, replace=False)] = 0
    return pixels, mask


class Figures:
    """Per family, the largest of each difference the tests measured, for the README's table (printed
    with pytest -s when the module's families are done)."""

    def __init__(self):
        self.rows: dict[str, dict[str, float]] = {}

    def add(self, name: str, what: str, value: float) -> None:
        row = self.rows.setdefault(name, {})
        row[what] = max(row.get(what, 0.0), float(value))

    def report(self) -> None:
        for name, row in self.rows.items():
            print(name, {k: f"{v:.2g}" for k, v in row.items()})


def imported_families(tmp_path_factory, save, figures: Figures, wrap):
    """get(model_type) -> wrap(Imported), made once: the family's tiny checkpoint written by
    `save(folder, model_type)` and imported with `attention-export hf` (its seconds into `figures`)."""
    from export.hf import export_hf

    done = {}

    def get(name: str):
        if name not in done:
            folder = save(tmp_path_factory.mktemp(name), name)
            started = time.perf_counter()
            path = export_hf(folder, folder / "imported.onnx")
            figures.add(name, "import seconds", time.perf_counter() - started)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            done[name] = wrap(Imported(name, folder, path, session))
        return done[name]

    return get
