"""Small loop configs for the tests (built as dicts, the shape of a TOML document)."""

from __future__ import annotations

import pytest

from motionloop.io import read_jsonl
from motionloop.loop.configio import from_dict

TIMING = ("wall_s", "fit_s", "sample_s", "correct_s", "evaluate_s")


def toy_dict(**top) -> dict:
    """A gaussian run with three arms covering every workflow kind and the ideal corrector."""
    d = {
        "name": "test",
        "task": "gaussian",
        "generations": 6,
        "n": 12,
        "seeds": [0, 1],
        "lambdas": [1.0],
        "arms": [
            {"name": "replace", "workflow": "replace"},
            {"name": "accumulate", "workflow": "accumulate", "correction": "ideal", "gamma": 1.0},
            {"name": "subsample", "workflow": "accumulate-subsample"},
            {"name": "mix", "workflow": "mix", "lambdas": [0.0, 0.5]},
        ],
        "gaussian": {"dim": 2},
    }
    d.update(top)
    return d


def records_without_timing(path) -> list[dict]:
    """metrics.jsonl rows without the wall-clock fields (the only ones that differ between runs)."""
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_jsonl(path)]


@pytest.fixture
def toy_config():
    """The toy_dict run as a LoopConfig."""
    return from_dict(toy_dict(), "test")


@pytest.fixture(name="toy_dict")
def toy_dict_fixture():
    """`toy_dict(**top)`: the raw dict of a small gaussian run (top-level keys replaced)."""
    return toy_dict


@pytest.fixture(name="records_without_timing")
def records_fixture():
    """`records_without_timing(path)`: metrics rows without wall-clock fields."""
    return records_without_timing
