"""Nothing of the stats tests' own: the contract models (`model_paths`) come from tests/conftest.py."""
