"""The evidence presets: the controls and statistics the question needs, on a CPU and a GPU."""

from __future__ import annotations

from motionloop.loop.configio import load_config, to_toml


def test_evidence_presets_hold_the_controls_and_round_trip(tmp_path):
    for name in ("evidence", "evidence-gpu"):
        cfg = load_config(name)
        arms = {a.name: a for a in cfg.arms}
        assert set(arms) == {
            "baseline",
            "iterative",
            "self-correcting",
            "self-correcting-filter",
            "oracle",
            "oracle-full",
        }
        assert cfg.lambdas_of(arms["baseline"]) == (0.0,)
        assert arms["self-correcting-filter"].filter and arms["self-correcting-filter"].correction == "physics"
        assert arms["oracle"].correction == "oracle" and arms["oracle"].gamma == 1.0 and arms["oracle-full"].gamma > 1e6
        assert len(cfg.seeds) >= 5 and cfg.generations >= 15 and 1.0 in cfg.lambdas
        assert cfg.motion.eval_draws >= 3 and cfg.workflow == "mix" and cfg.training == "finetune"
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(cfg))
        assert load_config(path) == cfg
    gpu = load_config("evidence-gpu")
    assert gpu.n == 64 and gpu.generations == 50 and gpu.lambdas == (0.25, 0.5, 0.75, 1.0)
    assert gpu.motion.model == "mdm" and gpu.motion.finetune_steps == 1000
