"""Nothing of the core tests' own: the contract models (`bert_path`, ...) come from tests/conftest.py."""
