"""A Hugging Face checkpoint folder: what it holds, the kind and class it imports as, its model."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

from torch import nn

from explorer.shared.hf_folder import CONFIG, read_json
from export.hf.attention import ATTENTION, register_attention
from export.hf.families import FAMILIES, REFUSED, UNDESCRIBED, Family

WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """What a folder holds, before any weights are read."""

    folder: Path
    config: dict  # config.json, with the defaults of its config class filled in
    model_type: str
    architecture: str
    kind: str
    class_name: str  # the transformers class that loads it as `kind`

    @property
    def family(self) -> Family:
        return FAMILIES[self.model_type]


def read_checkpoint(folder: str | Path, task: str | None = None) -> Checkpoint:
    """Check the folder and choose the kind and class; raise FileNotFoundError/ValueError naming the fault."""
    from transformers import AutoConfig

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: give the folder a Hugging Face checkpoint was saved to")
    if not (folder / CONFIG).is_file():
        raise FileNotFoundError(f"{folder / CONFIG} is missing: the folder is not a Hugging Face checkpoint")
    if not any((folder / name).is_file() for name in WEIGHTS):
        raise FileNotFoundError(f"{folder} holds no weights (looked for {', '.join(WEIGHTS)})")
    saved = read_json(folder / CONFIG)
    model_type = saved.get("model_type", "")
    architecture = (saved.get("architectures") or [""])[0]
    if model_type not in FAMILIES:
        supported = ", ".join(sorted(FAMILIES))
        raise ValueError(f"{folder / CONFIG}: model_type {model_type!r} ({architecture or 'no architecture'}) "
                         f"cannot be imported: {REFUSED.get(model_type, UNDESCRIBED)}. Supported: {supported}")
    config = AutoConfig.from_pretrained(folder, local_files_only=True).to_dict()  # with the class's defaults
    for key, (wanted, why) in FAMILIES[model_type].supported_config.items():
        if config.get(key) != wanted:
            raise ValueError(f"{folder / CONFIG}: {key} is {config.get(key)!r}; the {model_type} import is written "
                             f"for {key} {wanted!r}: {why}")
    kinds = FAMILIES[model_type].classes
    kind = task or default_kind(FAMILIES[model_type], architecture)
    if kind not in kinds:
        raise ValueError(f"{folder / CONFIG}: a {model_type} checkpoint imports as {' or '.join(kinds)}, not {kind}")
    vision = FAMILIES[model_type].vision
    as_saved = () if vision is None else (vision.features, *vision.also)  # loaded as the architecture it is
    class_name = architecture if architecture in as_saved else kinds[kind]
    return Checkpoint(folder, config, model_type, architecture, kind, class_name)


def default_kind(family: Family, architecture: str) -> str:
    """The kind the checkpoint's own architecture is: with a masked-LM head or without one."""
    if len(family.classes) == 1:
        return next(iter(family.classes))
    return "bert-mlm" if architecture.endswith(family.masked_lm_architectures) else "encoder"


def load_model(checkpoint: Checkpoint) -> nn.Module:
    """The model with our recorded eager attention (plain eager where the family's attention is its own);
    raise ValueError when the checkpoint lacks weights it needs."""
    import transformers
    from transformers.utils import logging as hf_logging

    register_attention()
    hf_logging.disable_progress_bar()
    model_class = getattr(transformers, checkpoint.class_name)
    options = {}
    if "add_pooling_layer" in inspect.signature(model_class.__init__).parameters:
        options["add_pooling_layer"] = False  # a pooler we do not use need not be in the checkpoint
    # A family with attention code of its own runs it under "eager" (GPT-Neo chooses its class by the name).
    attention = "eager" if checkpoint.family.own_attention else ATTENTION
    model, info = model_class.from_pretrained(
        checkpoint.folder, attn_implementation=attention, local_files_only=True, output_loading_info=True, **options
    )
    if info["missing_keys"]:
        missing = sorted(info["missing_keys"])
        raise ValueError(f"{checkpoint.folder}: the checkpoint ({checkpoint.architecture}) has no weights for "
                         f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}; it cannot be a "
                         f"{checkpoint.kind} (try another --task)")
    return model.eval()
