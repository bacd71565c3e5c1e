"""`evaluate(clips, reference) -> dict`: every metric of a clip set against real reference clips.

Protocol (fixed so that numbers compare across runs and generations):
- Clips are resampled to the evaluator's fps and cut into windows of its length. `n` windows
  of the evaluated clips and `n` windows of each half of the reference (halves share no
  frame, see windows.split_index) are drawn without replacement, deterministically from
  `seed`. FID grows as n shrinks, so n is fixed and reported.
- `fid`: clips vs reference half A. `fid_floor`: reference half B vs half A, the value a
  perfect generator would get at this n. Only differences to the floor are meaningful.
- `diversity` (clips) and `diversity_ref` (half A): mean distance of `n_pairs` random pairs.
- `multimodality`: within-label pair distances of the clips (None without labels).
- `accuracy`: the evaluator's recognition accuracy on clips whose label it knows (else None).
- `precision`, `recall`: k-NN manifolds of the clips and half A.
- Physics metrics (physics.metrics): mean over the whole clips.
Embedding units: one unit is one standard deviation of the real data per dimension.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionloop.eval import metrics
from motionloop.eval.errors import EvaluationError
from motionloop.eval.evaluator import Evaluator, resolve
from motionloop.eval.windows import at_fps, draw, split_index, window_index, window_inputs
from motionloop.motion import Motion, load_clips

METRIC_KEYS = (
    "n",
    "fid",
    "fid_floor",
    "diversity",
    "diversity_ref",
    "multimodality",
    "accuracy",
    "precision",
    "recall",
    "penetrate_mm",
    "float_mm",
    "skate_mm",
    "phys_err_mm",
)


def load_reference(reference: str | Path | list[Motion]) -> list[Motion]:
    """Reference clips from a list, `"bundled"` (the shipped real set) or a clip file/directory."""
    if isinstance(reference, (list, tuple)):
        return list(reference)
    if isinstance(reference, str) and reference == "bundled":
        try:
            from motionloop.data.bundled import load_bundled
        except ImportError:
            raise EvaluationError(
                "reference 'bundled': the bundled dataset is not installed with this copy of motionloop"
            ) from None
        return load_bundled()
    if isinstance(reference, (str, Path)):
        return load_clips(reference)
    raise EvaluationError(
        f"reference: expected 'bundled', a clip file/directory or a list of Motions, got {type(reference).__name__}"
    )


def _physics(clips: list[Motion]) -> dict[str, float]:
    from motionloop.physics.metrics import METRIC_KEYS as PHYS_KEYS
    from motionloop.physics.metrics import physics_metrics

    rows = [physics_metrics(m) for m in clips]
    return {k: float(np.mean([r[k] for r in rows])) for k in PHYS_KEYS}


def _describe(m: Motion, i: int) -> str:
    return m.source or f"clip {i}"


def evaluate(
    clips: list[Motion],
    reference: str | Path | list[Motion] = "bundled",
    n: int = 256,
    seed: int = 0,
    evaluator: Evaluator | str | Path | None = None,
    k: int = 3,
    n_pairs: int = 300,
) -> dict:
    """Metrics of `clips` against `reference` at a fixed number `n` of windows.

    Args:
        clips: the clips to evaluate (any fps; each at least the evaluator's window long).
        reference: real clips: a list, `"bundled"`, or a clip file/directory. Reference clips
            shorter than the window are ignored. Needs at least `n` windows in each half.
        n: windows compared per set (and in the floor). Keep it fixed across comparisons.
        seed: seeds the window draws and the random pairs.
        evaluator: an Evaluator, an evaluator file, or None for the bundled-data weights.
        k: neighbourhood size of precision/recall; n_pairs: pairs for diversity.
    Returns:
        dict with METRIC_KEYS: `n` (int); fid, fid_floor, diversity, diversity_ref,
        multimodality (None without 2+ clips of a label), accuracy (None if no clip has a
        label the evaluator knows), precision, recall in embedding units or [0, 1];
        penetrate_mm, float_mm, skate_mm, phys_err_mm in millimetres (per 1/20 s for skate).
    """
    ev = resolve(evaluator)
    clips, reference = list(clips), load_reference(reference)
    if not isinstance(n, (int, np.integer)) or n < max(2, k + 1):
        raise EvaluationError(f"evaluate: n must be an integer >= {max(2, k + 1)}, got {n!r}")
    if len(clips) == 0:
        raise EvaluationError("evaluate: no clips to evaluate")
    L = ev.window
    clips = at_fps(clips, ev.config.fps)
    short = [f"{_describe(m, i)} ({m.num_frames} frames)" for i, m in enumerate(clips) if m.num_frames < L]
    if short:
        raise EvaluationError(
            f"evaluate: {len(short)} clips are shorter than the evaluator's window of {L} frames "
            f"({L / ev.config.fps:.1f} s at {ev.config.fps:g} fps), e.g. {', '.join(short[:3])}"
        )
    reference = [m for m in at_fps(reference, ev.config.fps) if m.num_frames >= L]
    if not reference:
        raise EvaluationError(f"evaluate: no reference clip is at least the evaluator's window of {L} frames long")

    gen_idx = draw(window_index([m.num_frames for m in clips], L), n, seed, "evaluate: clips")
    half_a, half_b = split_index([m.num_frames for m in reference], L)
    a_idx = draw(half_a, n, seed + 1, "evaluate: reference half A")
    b_idx = draw(half_b, n, seed + 2, "evaluate: reference half B")
    gen, gen_logits = ev.embed(*window_inputs(clips, gen_idx, L))
    ref_a, _ = ev.embed(*window_inputs(reference, a_idx, L))
    ref_b, _ = ev.embed(*window_inputs(reference, b_idx, L))

    labels = [clips[c].label for c in gen_idx[:, 0]]
    known = [i for i, lab in enumerate(labels) if lab in ev.labels]
    acc = None
    if known:
        acc = metrics.accuracy(gen_logits[known], [ev.labels.index(labels[i]) for i in known])
    labelled = [i for i, lab in enumerate(labels) if lab is not None]
    multimodality = None
    if labelled and max(labels.count(lab) for lab in set(labels) if lab is not None) >= 2:
        multimodality = metrics.multimodality(gen[labelled], [labels[i] for i in labelled], seed=seed)
    precision, recall = metrics.precision_recall(ref_a, gen, k)
    out = {
        "n": int(n),
        "fid": metrics.fid(gen, ref_a),
        "fid_floor": metrics.fid(ref_b, ref_a),
        "diversity": metrics.diversity(gen, n_pairs, seed),
        "diversity_ref": metrics.diversity(ref_a, n_pairs, seed),
        "multimodality": multimodality,
        "accuracy": acc,
        "precision": precision,
        "recall": recall,
    }
    out.update(_physics(clips))
    return {key: out[key] for key in METRIC_KEYS}


def format_metrics(result: dict) -> str:
    """`evaluate`'s result as aligned `name  value` lines for a terminal (None shows as '-')."""
    width = max(len(k) for k in result)
    lines = []
    for key, value in result.items():
        text = "-" if value is None else str(value) if isinstance(value, int) else f"{value:.4g}"
        lines.append(f"{key:<{width}}  {text}")
    return "\n".join(lines)
