"""Shared test helpers: where the real VASP fixtures live (skips when absent); scripts/ on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The scripts (scripts/*.py: benchmarks) are not a package; tests of them import them by name,
# and a broken script must fail those tests, not skip them.
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))
# Read in place from the workplace's shared folder (never copied into the project).
FIXTURES = REPO.parent / "shared" / "fixtures"
VASP_FIXTURES = FIXTURES / "vasp"


@pytest.fixture
def vasp_fixture():
    """Return a function giving the path of a named file in ../shared/fixtures/vasp.

    Skips the test, with the reason, where the folder is absent (a user's clone).
    """

    def _get(name: str) -> Path:
        path = VASP_FIXTURES / name
        if not path.exists():
            pytest.skip(f"real VASP fixture {path} not present (only in the project workspace/CI)")
        return path

    return _get
