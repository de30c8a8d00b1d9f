"""The package's version, in one place (pyproject.toml's is checked against it by tests/test_packaging.py)."""
__version__ = "0.1.0"
