"""Real Chicago data committed with the tests (source and licence: tests/data/README.md)."""
from pathlib import Path

CHICAGO = Path(__file__).resolve().parent / "chicago"
