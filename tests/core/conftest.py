"""Contract files for the core tests (see contract_models.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

# Test folders are not packages (pytest's importlib mode): load the shared module by its path.
_spec = importlib.util.spec_from_file_location("contract_models", Path(__file__).with_name("contract_models.py"))
contract_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(contract_models)

model_cache = contract_models.model_cache
bert_path = contract_models.bert_path
transformer_path = contract_models.transformer_path
vit_path = contract_models.vit_path
