import numpy as np
import pytest
from PIL import Image

from motionloop.errors import MotionloopError, UnknownNameError
from motionloop.viz.plots import curve_table, plot_curves


def _records(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for arm in ("none", "physics"):
        for lam in (0.5, 1.0):
            for s in range(3):
                for g in range(4):
                    rows.append(
                        {
                            "arm": arm,
                            "lambda": lam,
                            "seed": s,
                            "generation": g,
                            "fid": g * (2.0 if arm == "none" else 0.5) + rng.normal(0, 0.1),
                            "phys_err_mm": 10.0 + s,
                        }
                    )
    return rows


def test_curve_table_aggregates_seeds():
    table = curve_table(_records(), "phys_err_mm")
    assert sorted(table) == ["none lambda=0.5", "none lambda=1", "physics lambda=0.5", "physics lambda=1"]
    xs, mean, lo, hi, std = table["physics lambda=1"]
    np.testing.assert_array_equal(xs, [0, 1, 2, 3])
    np.testing.assert_allclose(mean, 11.0)  # seeds 0, 1, 2 -> 10, 11, 12
    np.testing.assert_allclose(lo, 10.0)
    np.testing.assert_allclose(hi, 12.0)
    np.testing.assert_allclose(std, np.std([10, 11, 12]))


def test_curve_table_skips_missing_and_nonfinite_values():
    rows = [
        {"arm": "a", "generation": 0, "fid": 1.0},
        {"arm": "a", "generation": 1, "fid": float("nan")},
        {"arm": "a", "generation": 2},
        {"arm": "b", "generation": 0, "fid": 3.0},
    ]
    table = curve_table(rows, "fid", group_by=("arm",))
    np.testing.assert_array_equal(table["a"][0], [0])
    assert set(table) == {"a", "b"}


def test_plot_curves_writes_a_png(tmp_path):
    out = plot_curves(_records(), ["fid", "phys_err_mm"], tmp_path / "curves.png", band="std", title="t")
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[1] > img.shape[0] > 200
    assert (img.std(axis=-1) > 40).sum() > 500  # coloured lines and bands, not an empty figure


def test_plot_curves_errors(tmp_path):
    with pytest.raises(MotionloopError, match=r"\.png"):
        plot_curves(_records(), ["fid"], tmp_path / "c.jpg")
    with pytest.raises(UnknownNameError, match="minmax"):
        plot_curves(_records(), ["fid"], tmp_path / "c.png", band="iqr")
    with pytest.raises(UnknownNameError, match="phys_err_mm"):
        plot_curves(_records(), ["mystery"], tmp_path / "c.png")
    with pytest.raises(MotionloopError, match="no metrics"):
        plot_curves(_records(), [], tmp_path / "c.png")
