"""Outcomes of the fuzz suite per reader (the release-quality figures).

    python benchmarks/bench_fuzz.py

Runs tests/fuzz (seeded mutants of valid files for every reader) with MOTIONLOOP_FUZZ_TALLY set,
so every mutant's outcome is counted: it loaded (the mutation was harmless) or it gave a clear
one-line error naming the file. Anything else (a traceback, a hang past the watchdog, an
allocation past the bound, code run from the file, a multi-line message) fails the suite, and
is counted here from pytest's exit status. Writes benchmarks/results/bench_fuzz.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from motionloop.bench import write_result

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tally_path = Path(tmp) / "tally.json"
        env = dict(os.environ, MOTIONLOOP_FUZZ_TALLY=str(tally_path), OMP_NUM_THREADS="1")
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "fuzz")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - t0
        tally = json.loads(tally_path.read_text()) if tally_path.exists() else {}
    summary = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "fuzz")]
    from test_fuzz_readers import HANG_S, PEAK_BYTES

    readers = {
        r: {"mutants": sum(c.values()), "clear_error": c.get("clear error", 0), "loaded": c.get("loaded", 0)}
        for r, c in tally.items()
    }
    write_result(
        ROOT / "benchmarks" / "results" / "bench_fuzz.json",
        "fuzz_readers",
        {"suite": "tests/fuzz", "hang_s": HANG_S, "peak_bytes_bound": PEAK_BYTES},
        {
            "readers": readers,
            "mutants": sum(r["mutants"] for r in readers.values()),
            "suite_passed": res.returncode == 0,
            "pytest_summary": summary,
            # a traceback, hang, allocation past the bound, code execution or partial output fails a test
            "other_outcomes": 0 if res.returncode == 0 else "the suite failed: see pytest's output",
            "seconds": round(seconds, 1),
        },
    )
    if res.returncode:
        print(res.stdout[-4000:], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
