import numpy as np
import pytest

from motionloop.loop.effects import bootstrap_interval, cross_run_table, effect_table, format_table


def _records(effect: float, noise: float, seeds: int = 6, gens: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for s in range(seeds):
        level = rng.normal(0, 5)  # a seed-level offset shared by the arms (common random numbers)
        for g in range(gens + 1):
            base = 50 + level + g
            out.append(
                {"arm": "iterative", "lambda": 1.0, "seed": s, "generation": g, "fid": base + rng.normal(0, noise)}
            )
            out.append(
                {
                    "arm": "self-correcting",
                    "lambda": 1.0,
                    "seed": s,
                    "generation": g,
                    "fid": base - effect * (g > 0) + rng.normal(0, noise),
                }
            )
            out.append(
                {"arm": "baseline", "lambda": 0.0, "seed": s, "generation": g, "fid": 50 + level + rng.normal(0, noise)}
            )
    return out


def test_a_real_effect_is_found_with_an_interval_that_excludes_zero():
    rows = effect_table(_records(effect=4.0, noise=1.0), ("fid",), last=5)
    row = next(r for r in rows if r["arm"] == "self-correcting" and r["against"] == "iterative")
    assert row["effect"] == pytest.approx(-4.0, abs=0.8)
    assert row["high"] < 0 and row["low"] < row["effect"] < row["high"]
    assert row["generations"] == [4, 8] and row["seeds"] == 6
    # the baseline's lambda 0 is the reference of every lambda
    assert any(r["arm"] == "iterative" and r["against"] == "baseline" for r in rows)
    assert not any(r["arm"] == r["against"] for r in rows)
    assert "*" in format_table(rows)


def test_no_effect_gives_an_interval_around_zero_and_a_detectable_size():
    rows = effect_table(_records(effect=0.0, noise=3.0), ("fid",), last=5)
    row = next(r for r in rows if r["arm"] == "self-correcting" and r["against"] == "iterative")
    assert row["low"] < 0 < row["high"]
    # mde ~ 2.8 * sd(per-seed differences) / sqrt(6); each difference averages 5 generations of noise 3*sqrt(2)
    assert 0.5 < row["mde"] < 6.0


def test_paired_differences_cancel_the_seed_level_noise():
    rows = effect_table(_records(effect=1.0, noise=0.1), ("fid",), last=5)
    row = next(r for r in rows if r["arm"] == "self-correcting" and r["against"] == "iterative")
    assert row["high"] - row["low"] < 0.5  # the seed offsets (sd 5) do not enter


def test_bootstrap_interval_needs_two_values_and_covers_the_mean():
    assert all(np.isnan(bootstrap_interval(np.array([1.0]))))
    lo, hi = bootstrap_interval(np.array([1.0, 2.0, 3.0, 4.0]))
    assert lo <= 2.5 <= hi


def test_two_runs_pair_by_seed_with_the_shared_arm_as_the_noise_floor():
    a = [r for r in _records(effect=4.0, noise=1.0) if r["arm"] != "baseline"]
    # run b: the same chains (same seed offsets), a little float noise, and a corrector 3 worse
    b = []
    for r in _records(effect=4.0, noise=1.0):
        if r["arm"] == "baseline":
            continue
        shift = 3.0 * (r["generation"] > 0) if r["arm"] == "self-correcting" else 0.0
        b.append(dict(r, fid=r["fid"] + shift + 0.01 * (r["seed"] - 2.5)))
    out = cross_run_table(a, b, ("fid",), reference="iterative", last=5)
    (noise,) = out["noise"]
    assert noise["arm"] == "iterative@B" and abs(noise["effect"]) < 0.05
    same = next(r for r in out["cross"] if r["against"] == "self-correcting")
    assert same["arm"] == "self-correcting@B" and same["effect"] == pytest.approx(3.0, abs=0.05)
    vs_ref = next(r for r in out["cross"] if r["against"] == "iterative")
    assert vs_ref["effect"] == pytest.approx(-1.0, abs=0.8)
    assert {(r["arm"], r["against"]) for r in out["cross"]} == {
        ("self-correcting@B", "iterative"),
        ("self-correcting@B", "self-correcting"),
    }
    (within,) = out["within"]
    assert within["arm"] == "self-correcting" and within["effect"] == pytest.approx(-1.0, abs=0.8)
    with pytest.raises(ValueError, match="'baseline' must be in both runs"):
        cross_run_table(a, b, ("fid",), reference="baseline")
