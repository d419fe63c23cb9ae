"""Small models of each kind, exported once per test session."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from explorer import contract
from export.bundle import untrained_metadata, untrained_model
from export.onnx_export import export_onnx

SMALL = {
    "bert": {"vocab_size": 160, "d_model": 32, "heads": 4, "layers": 2, "d_ff": 64, "max_positions": 40},
    "transformer": {"vocab_size": 160, "d_model": 32, "heads": 2, "encoder_layers": 2, "decoder_layers": 3,
                    "d_ff": 64, "max_positions": 40},
    "vit": {"image_size": 16, "patch_size": 4, "d_model": 32, "heads": 2, "layers": 3, "d_ff": 64, "classes": 5},
    "gpt": {"vocab_size": 160, "d_model": 32, "heads": 4, "layers": 2, "d_ff": 64, "max_positions": 40},
}


class Exported:
    """A PyTorch model, its ONNX export and an ORT session over it."""

    def __init__(self, kind: str, path):
        self.kind = kind
        self.model = untrained_model(kind, SMALL[kind], seed=1)
        self.metadata = untrained_metadata(kind, self.model)
        export_onnx(self.model, self.metadata, path, internals=True)
        self.path = path
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self.session.run(None, feeds), strict=True))


@pytest.fixture(scope="session", params=["bert", "transformer", "vit", "gpt"])
def exported(request, tmp_path_factory) -> Exported:
    return Exported(request.param, tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx")


def padded_batch(lengths: list[int], vocab: int, total: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, mask) of shape (len(lengths), total): random ids, padded with 0 after each length."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(len(lengths), total)).astype(np.int64)
    mask = (np.arange(total)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    return ids * mask, mask


def feeds_for(ex: Exported, batch: int, length: int, seed: int = 0, head_masks: dict | None = None) -> dict:
    """Contract inputs for `ex`: with batch > 1 every item after the first is padded shorter."""
    lengths = [length] + [max(2, length - 2 * i - 1) for i in range(1, batch)]
    c = ex.model.config
    feeds: dict[str, np.ndarray] = {}
    if ex.kind == "vit":
        rng = np.random.default_rng(seed)
        feeds[contract.PIXEL_VALUES] = rng.standard_normal((batch, 3, c.image_size, c.image_size)).astype(np.float32)
        mask = np.ones((batch, 1 + c.num_patches), dtype=np.int64)
        for b in range(1, batch):  # hide a few patches (never [CLS])
            mask[b, rng.choice(np.arange(1, 1 + c.num_patches), size=3 * b, replace=False)] = 0
        feeds[contract.PATCH_MASK] = mask
    elif ex.kind == "transformer":
        feeds[contract.SRC_IDS], feeds[contract.SRC_MASK] = padded_batch(lengths, c.vocab_size, length, seed)
        tgt_lengths = [max(2, n - 2) for n in lengths]
        tgt = padded_batch(tgt_lengths, c.vocab_size, length - 2, seed + 1)
        feeds[contract.TGT_IDS], feeds[contract.TGT_MASK] = tgt
    else:
        feeds[contract.INPUT_IDS], feeds[contract.ATTENTION_MASK] = padded_batch(lengths, c.vocab_size, length, seed)
    for stack, spec in ex.metadata.stacks.items():
        name = contract.head_mask_input(stack)
        feeds[name] = (head_masks or {}).get(stack, np.ones((spec.layers, spec.heads), dtype=np.float32))
    if ex.metadata.kv_cache:  # the whole sequence: an empty past
        for name in ex.metadata.kv_cache.past_inputs():
            feeds[name] = np.zeros(ex.metadata.kv_cache.shape(batch, 0), np.float32)
    return feeds


def torch_outputs(ex: Exported, feeds: dict) -> dict[str, np.ndarray]:
    """The PyTorch reference for the same feeds, under the contract's output names; the long
    inputs not fed take the file's defaults."""
    from export.long_inputs import default_inputs
    from export.onnx_export import ContractModule

    module = ContractModule(ex.model, attentions=True, internals=True).eval()
    feeds = {**default_inputs(ex.metadata), **feeds}
    inputs = [torch.from_numpy(feeds[name]) for name in module.input_names()]
    with torch.no_grad():
        results = module(*inputs)
    return {name: t.numpy() for name, t in zip(module.output_names(), results, strict=True)}
