import dataclasses

import numpy as np
import pytest

from motionloop.physics.correct import CorrectionConfig, failed_report
from motionloop.physics.metrics import METRIC_KEYS
from motionloop.physics.summary import by_feasibility, feasibility_group, summarize, table


def _report(name: str, floor_bw: float, success: bool, mpjpe: float):
    before = {k: 1.0 for k in METRIC_KEYS}
    rep = failed_report(name, CorrectionConfig(), "placeholder", before, feasibility=floor_bw)
    return dataclasses.replace(
        rep,
        error=None,
        success=success,
        success_free=success,
        verified=success and mpjpe < 100,
        residual_bw=0.01,
        residual_bw_max=0.02,
        mpjpe_mm=mpjpe,
        mpjpe_local_mm=mpjpe / 2,
        trunk_pitch_change_deg=1.0,
        trunk_pitch_bias_deg=0.5,
        attempt="free",
    )


@pytest.mark.parametrize(
    "floor, group",
    [
        (0.0, "<5%"),
        (0.049, "<5%"),
        (0.05, "5-20%"),
        (0.199, "5-20%"),
        (0.2, ">=20%"),
        (3.0, ">=20%"),
        (np.nan, "unknown"),
    ],
)
def test_feasibility_groups_by_the_default_edges(floor, group):
    assert feasibility_group(floor) == group


def test_feasibility_groups_by_other_edges():
    assert [feasibility_group(x, (0.02, 0.05, 0.2)) for x in (0.01, 0.03, 0.1, 0.3)] == [
        "<2%",
        "2-5%",
        "5-20%",
        ">=20%",
    ]
    assert [feasibility_group(x, (0.05,)) for x in (0.01, 0.05)] == ["<5%", ">=5%"]


def test_by_feasibility_summarizes_each_group_in_order():
    reports = [
        _report("hover", 0.6, False, 300.0),
        _report("walk", 0.01, True, 30.0),
        _report("stand", 0.0, True, 10.0),
        _report("jump", 0.1, True, 80.0),
        _report("broken", np.nan, False, 50.0),
    ]
    groups = by_feasibility(reports)
    assert list(groups) == ["<5%", "5-20%", ">=20%", "unknown"]
    assert groups["<5%"]["clips"] == 2 and groups["<5%"]["success_rate"] == 1.0
    assert groups["<5%"]["mpjpe_median_mm"] == 20.0
    assert groups[">=20%"] == summarize([reports[0]])
    assert sum(g["clips"] for g in groups.values()) == len(reports)
    # empty groups are left out
    assert list(by_feasibility(reports[1:3])) == ["<5%"]


def test_by_feasibility_rejects_bad_edges():
    for edges in [(), (0.2, 0.05), (0.0, 0.1)]:
        with pytest.raises(ValueError, match="edges"):
            by_feasibility([], edges)


def test_the_table_shows_the_groups_only_where_there_are_several():
    one = [_report("walk", 0.01, True, 30.0), _report("stand", 0.0, True, 10.0)]
    assert "feasibility floor" not in table(one)
    text = table(one + [_report("hover", 0.6, False, 300.0)])
    assert "by the input's own feasibility floor" in text
    assert "    <5%    2 clips: success 1.00" in text and "  >=20%    1 clips: success 0.00" in text
