"""Loop configs: presets, TOML round trip, overrides, and every error path naming what is wrong."""

from __future__ import annotations

import pytest

from motionloop.errors import ConfigError, MotionloopError, UnknownNameError
from motionloop.loop.configio import diff, from_dict, load_config, preset_names, to_dict, to_toml

PRESETS = ("demo", "paper-motion", "kazdan-gaussian", "kazdan-kde", "scsc-toy", "scsc-toy-swap")


def test_every_preset_loads_and_round_trips_through_toml(tmp_path):
    assert set(PRESETS) <= set(preset_names())
    for name in PRESETS:
        cfg = load_config(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(cfg))
        again = load_config(path)
        assert again == cfg, name
        assert diff(cfg, again) == []


def test_presets_hold_the_papers_settings():
    paper = load_config("paper-motion")
    assert paper.n == 64 and paper.generations == 50 and paper.lambdas == (0.25, 0.5, 0.75, 1.0)
    assert paper.motion.init == "scratch" and paper.motion.init_steps == 5000 and paper.motion.finetune_steps == 1000
    assert [a.correction for a in paper.arms] == ["none", "none", "physics"]
    assert paper.lambdas_of(paper.arms[0]) == (0.0,)
    scsc = load_config("scsc-toy")
    assert scsc.n == 50 and scsc.lambdas == (0.5,) and scsc.gaussian.dim == 2
    assert sorted(a.gamma for a in scsc.arms) == pytest.approx([0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 2.0, 5.0], abs=1e-9)
    assert sorted(a.gamma for a in load_config("scsc-toy-swap").arms) == [0.0, 0.1, 1.0, 5.0]
    kazdan = load_config("kazdan-gaussian")
    assert {kazdan.workflow_of(a) for a in kazdan.arms} == {"replace", "accumulate", "accumulate-subsample"}
    demo = load_config("demo")
    assert [a.name for a in demo.arms] == ["baseline", "iterative", "self-correcting"]
    assert demo.task == "motion" and demo.training == "finetune" and demo.motion.init == "base"


def test_overrides_are_type_checked_and_reach_nested_fields():
    cfg = load_config(
        "demo",
        [
            "generations=2",
            "motion.finetune_steps=7",
            "seeds=[0, 3]",
            "lambdas=0.5",
            "arms.self-correcting.strength=0.25",
            "arms.0.lambdas=[0.0]",
            "workflow=accumulate",
        ],
    )
    assert cfg.generations == 2 and cfg.motion.finetune_steps == 7 and cfg.seeds == (0, 3)
    assert cfg.lambdas == (0.5,) and cfg.arms[2].strength == 0.25 and cfg.workflow == "accumulate"
    with pytest.raises(ConfigError, match=r"generations: expected an integer, got 'many'"):
        load_config("demo", ["generations=many"])
    with pytest.raises(ConfigError, match=r"motion.finetune_step: unknown key; valid keys of motion: .*finetune_steps"):
        load_config("demo", ["motion.finetune_step=10"])
    with pytest.raises(UnknownNameError, match=r"valid: baseline, iterative, self-correcting"):
        load_config("demo", ["arms.nosuch.strength=1"])
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config("demo", ["generations"])


def test_unknown_keys_and_values_name_the_key_and_the_choices(toy_dict):
    with pytest.raises(ConfigError, match=r"generatons: unknown key; valid keys: name, task, generations"):
        from_dict(toy_dict(generatons=3))
    with pytest.raises(
        ConfigError, match=r"workflow: 'recycle' is not one of 'replace', 'accumulate', 'accumulate-subs"
    ):
        from_dict(toy_dict(workflow="recycle"))
    with pytest.raises(ConfigError, match=r"task: 'images' is not one of 'gaussian', 'kde', 'motion'"):
        from_dict(toy_dict(task="images"))
    bad_arm = toy_dict()
    bad_arm["arms"][0]["correction"] = "magic"
    with pytest.raises(
        ConfigError, match=r"arms\[0\].correction: 'magic' is not one of 'none', 'physics', 'kinematic', 'ideal'"
    ):
        from_dict(bad_arm)
    with pytest.raises(
        ConfigError, match=r"kde.dataset: 'spiral' is not one of 'blobs', 'circles', 'moons', 'swiss-roll'"
    ):
        from_dict(toy_dict(task="kde", kde={"dataset": "spiral"}))
    with pytest.raises(ConfigError, match="missing required key 'n'"):
        from_dict({k: v for k, v in toy_dict().items() if k != "n"})


def test_bad_values_are_refused_with_the_reason(toy_dict):
    cases = [
        (dict(lambdas=[-0.5]), r"lambdas: lambda must be a number in \[0, 1000\], got -0.5"),
        (dict(lambdas=[0.5, 0.5]), r"repeated lambda"),
        (dict(n=1), r"n: must be an integer >= 2, got 1"),
        (dict(generations=0), r"generations: must be an integer >= 1"),
        (dict(seeds=[1, 1]), r"seeds: give one or more distinct seeds"),
        (dict(training="finetune"), r"'finetune' needs a trainable model; task 'gaussian' fits in closed form"),
        (dict(arms=[{"name": "a", "correction": "physics"}]), r"'physics' needs task 'motion'"),
        (dict(arms=[{"name": "a", "correction": "kinematic"}]), r"'kinematic' needs task 'motion'"),
        (
            dict(arms=[{"name": "a", "workflow": "replace", "lambdas": [0.0]}]),
            r"'replace' with lambda 0 leaves no training data",
        ),
        (dict(arms=[{"name": "a"}, {"name": "a"}]), r"repeated arm name"),
        (dict(arms=[{"name": "a/b"}]), r"must be letters, digits"),
        (dict(arms=[{"name": "a", "gamma": -1.0}]), r"arms.a.gamma: must be a finite number >= 0"),
        (dict(arms=[]), r"at least one \[\[arms\]\]"),
    ]
    for top, message in cases:
        with pytest.raises(ConfigError, match=message):
            from_dict(toy_dict(**top))


def test_motion_settings_are_checked():
    with pytest.raises(ConfigError, match=r"'ideal' needs the true distribution"):
        load_config("demo", ["arms.self-correcting.correction=ideal"])
    with pytest.raises(ConfigError, match=r"'retrain' repeats generation 0's training"):
        load_config("demo", ["training=retrain"])
    with pytest.raises(ConfigError, match=r"motion.strength|arms.self-correcting.strength: must be in \[0, 1\]"):
        load_config("demo", ["arms.self-correcting.strength=2"])
    with pytest.raises(ConfigError, match=r"motion.device: 'tpu' is not one of"):
        load_config("demo", ["motion.device=tpu"])


def test_n_larger_than_the_motion_data_is_refused_naming_the_limit():
    from motionloop.loop.engine import make_task

    message = (
        r"n: 5000 real windows asked, but motion.data 'bundled' holds only \d+ non-overlapping windows of 40 frames"
    )
    with pytest.raises(ConfigError, match=message):
        make_task(load_config("demo", ["n=5000"]))


def test_missing_preset_and_file_and_bad_toml(tmp_path):
    with pytest.raises(UnknownNameError, match=r"valid: .*demo.*scsc-toy"):
        load_config("dmeo")
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("task = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    assert issubclass(ConfigError, MotionloopError)


def test_resolved_toml_keeps_only_the_task_section(toy_config):
    d = to_dict(toy_config)
    assert "gaussian" in d and "kde" not in d and "motion" not in d
    text = to_toml(toy_config)
    assert "[[arms]]" in text and "[gaussian]" in text and "[motion]" not in text


def test_diff_names_every_changed_setting(toy_dict):
    a = from_dict(toy_dict())
    changed = toy_dict(n=30)
    changed["arms"][1]["gamma"] = 5.0
    lines = diff(a, from_dict(changed))
    assert lines == ["arms.accumulate.gamma: 1.0 -> 5.0", "n: 12 -> 30"]


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(generations=10**19), r"generations: at most 100000, got 10000000000000000000"),
        (dict(gaussian={"dim": 10**7}), r"gaussian.dim: at most 4096"),
        (dict(lambdas=[1e9]), r"lambda must be a number in \[0, 1000\]"),
        (dict(n=10**8), r"an accumulating pool would hold .* GiB of points"),
    ],
)
def test_sizes_that_would_allocate_terabytes_are_refused(toy_dict, change, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(toy_dict(**change), "test")
