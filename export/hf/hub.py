"""A checkpoint named by its Hugging Face Hub id (ORG/NAME) rather than a folder: downloaded where
the machine has the network, with only the files the import reads (config, weights, tokenizer and
preprocessor files), into the hub's own cache; offline, a copy already cached is used.

    attention-export hf openai-community/gpt2 --out gpt2.onnx
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
DESCRIPTIONS = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "preprocessor_config.json"]
SAFETENSORS = ["model.safetensors", "model.safetensors.index.json", "model-*-of-*.safetensors"]
PICKLES = ["pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*-of-*.bin"]  # older checkpoints


def checkpoint_folder(source: str | Path, progress: Callable[[str], None] = lambda stage: None) -> Path:
    """`source` as a folder: itself when it exists or is no hub id (the import then says what is
    wrong with it), else the hub's snapshot of that model."""
    if Path(source).exists() or not HUB_ID.fullmatch(str(source)):
        return Path(source)
    progress(f"downloading {source}")
    return download(str(source))


def offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it (read here: the hub reads it once, when imported)."""
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def download(repo_id: str) -> Path:
    """The snapshot of `repo_id` with safetensors weights, else PyTorch's pickles; raise ValueError
    or FileNotFoundError with one sentence when the hub cannot give it."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    cached_only = offline()
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=DESCRIPTIONS + SAFETENSORS,
                                        local_files_only=cached_only))
        if not any(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(repo_id, allow_patterns=DESCRIPTIONS + PICKLES,
                                            local_files_only=cached_only))
    except LocalEntryNotFoundError:
        why = "the Hugging Face Hub is offline here (HF_HUB_OFFLINE is set)" if cached_only else \
            "the Hugging Face Hub cannot be reached (no network)"
        how = "unset HF_HUB_OFFLINE to download it" if cached_only else "try again once the network is up"
        raise ValueError(f"{repo_id} is not a folder here, {why} and no copy of it is cached: give the folder "
                         f"of a checkpoint on disk, or {how}") from None
    except GatedRepoError:
        raise ValueError(f"{repo_id} is gated on the Hugging Face Hub: accept its terms on huggingface.co/{repo_id} "
                         "and log in with `hf auth login`, then try again") from None
    except RepositoryNotFoundError:
        raise FileNotFoundError(f"{repo_id} is neither a folder here nor a model on the Hugging Face Hub "
                                "(a private one needs `hf auth login` first)") from None
    except HfHubHTTPError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"the Hugging Face Hub did not give {repo_id}: {first_line}") from None
    return folder
