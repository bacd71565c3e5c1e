"""Recognise a foreign rig: which joint is which SMPL joint, its length unit, and its up axis.

Format-independent: every function takes joint names, parents and positions, so the BVH
importer and any other importer of joint positions can use it.

Names are compared after normalising them: a namespace before the last ':' ("mixamorig:") and
leading prefix words ("Bip01", "Character1", "DEF", "CC_Base") are dropped; the rest is split
at separators (space _ . - :) and camelCase into lower-case words; "l"/"left" and "r"/"right"
words set the side ("LeftUpLeg", "LHipJoint", "thigh.L", "Bip01 L Thigh", "upper_arm_l"); the
remaining words, joined, are the joint's *core* ("upleg", "hipjoint", "upperarm").

Mapping rules (SMPL joint <- core synonyms, tried in order; each joint of a limb must lie below
the previous one in the hierarchy; among equal candidates the shallowest joint with a non-zero
bone wins, so a zero-length helper such as CMU's "Neck" yields to "Neck1"):
- hip: upleg, upperleg, thigh, hip, femur (the thigh's root; CMU's "LHipJoint" sits at the pelvis
  and is not one); knee: leg, lowerleg, knee, shin, calf ...; ankle: ankle, foot;
  foot (ball): toebase, toe, toes, ball, foot, else the ankle's End Site.
- shoulder (upper arm): upperarm, arm, shldr, humerus, else "shoulder"; collar: collar, clavicle
  or "shoulder", as an ancestor of the upper arm. So "LeftShoulder" is the collar where a
  "LeftArm" hangs below it (CMU, Mixamo, Blender) and the upper arm where it does not (Biovision).
- elbow: forearm, lowerarm, elbow ...; wrist: wrist, hand, else the elbow's End Site;
  hand: a "hand" below a "wrist", else the first point down the wrist's non-thumb (preferably
  middle-finger) branch at least 10 % of a forearm away from the wrist, else left out.
- pelvis: hips, hip, pelvis (unsided), else the common ancestor of the hips.
- neck: neck, neck1 ...; head: head, skull, face, below the neck.
- spine1..3 by structure, not by name: the joints between pelvis and neck. spine3 is the joint
  the collars (or upper arms) hang from; the joints below it go to spine1/spine2 by their
  height along the chain, matched to SMPL's rest proportions (spine1 at 38 %, spine2 at 81 % of
  the pelvis->spine3 length), each match costing the fraction mismatch and each SMPL joint left
  out `_SKIP_COST` (so a joint within 7 % of the pelvis, such as CMU's "LowerBack", is never
  spine1). Rigs with fewer spine joints leave spine2 or spine1 out; the retargeter fills them.
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionloop import rotations as rot
from motionloop import skeleton as sk
from motionloop.errors import ConfigError, FormatError, RetargetError, UnknownNameError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REQUIRED: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
REQUIRED_ANY: tuple[str, ...] = ("neck", "head")  # at least one of these

# Metres per unit, for `unit=`; AUTO_UNITS are the ones detection chooses between.
UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45, "ft": 0.3048}
AUTO_UNITS: tuple[str, ...] = ("m", "cm", "mm", "inch", "cmu")
# Hip joint -> knee -> ankle of the default SMPL skeleton; detection picks the unit that brings
# the rig's leg closest to it (ratio within about x1.5 for neighbouring units inch/cmu).
REFERENCE_LEG_M = float(np.linalg.norm(sk.REST_OFFSETS[sk.LEFT_KNEE]) + np.linalg.norm(sk.REST_OFFSETS[sk.LEFT_ANKLE]))
UP_AXES: tuple[str, ...] = ("+x", "-x", "+y", "-y", "+z", "-z")

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_PREFIX = re.compile(r"^(bip\d*|biped\d*|character\d*|cc|base|def|org|mixamorig\d*|armature)$")
_NECK = re.compile(r"^neck\d*$")
_HIP = ("upleg", "upperleg", "thigh", "hip", "femur")
_KNEE = ("leg", "lowerleg", "lowleg", "knee", "shin", "calf", "tibia", "shank")
_ANKLE = ("ankle", "foot")
_BALL = ("toebase", "toe", "toes", "toe0", "ball", "foot")
_UPPER_ARM = ("upperarm", "arm", "uparm", "shldr", "humerus")
_COLLAR = ("collar", "clavicle", "shoulder")
_ELBOW = ("forearm", "lowerarm", "lowarm", "elbow", "radius")
_WRIST = ("wrist", "hand")
_PELVIS = ("hips", "hip", "pelvis")
_HEAD = ("head", "skull", "face")
_FAMILIES = {  # cores typical of one naming family only, for reporting
    "cmu": {"upleg", "leg", "toebase", "hipjoint", "lowerback", "arm"},
    "biovision": {"hip", "knee", "ankle", "toes", "collar", "elbow", "wrist"},
    "blender": {"thigh", "shin", "upperarm", "calf", "clavicle"},
}
_SKIP_COST = 0.3  # cost of leaving a SMPL spine joint unmapped, in units of chain fraction


@dataclass(frozen=True)
class RigMatch:
    """The result of recognising a rig's joints.

    Attributes:
        smpl_map: SMPL joint name -> rig joint name, for the SMPL joints found.
        family: naming family detected: "mixamo", "biped" (3ds Max), "cmu", "biovision",
            "blender" or "generic"; for reporting only, the rules do not depend on it.
        unmapped: the SMPL joints not found, in SMPL order.
    """

    smpl_map: dict[str, str]
    family: str
    unmapped: tuple[str, ...] = ()


def split_name(name: str) -> tuple[str | None, str]:
    """`(side, core)` of a joint name: side "L", "R" or None, e.g. "mixamorig:LeftUpLeg" -> ("L", "upleg")."""
    parts = [p for p in re.split(r"[\s_.\-|]+", name.rsplit(":", 1)[-1]) if p]
    while len(parts) > 1 and _PREFIX.match(parts[0].lower()):
        parts.pop(0)
    words = [w.lower() for part in parts for w in _CAMEL.findall(part)]
    sides, core = set(), []
    for w in words:
        if w in ("l", "left", "r", "right"):
            sides.add(w[0].upper())
        elif w.startswith(("left", "right")):
            sides.add(w[0].upper())
            core.append(w[4:] if w.startswith("left") else w[5:])
        else:
            core.append(w)
    return (sides.pop() if len(sides) == 1 else None), "".join(core)


class _Rig:
    """Topology helpers over names/parents/bone lengths."""

    def __init__(self, names, parents, end_site, bone_lengths):
        self.names, self.parents, self.end_site = list(names), list(parents), list(end_site)
        self.length = np.asarray(bone_lengths, dtype=np.float64)
        self.eps = 1e-4 * max(float(self.length.sum()), 1e-12)
        self.parts = [split_name(n) if not e else (None, "") for n, e in zip(names, end_site)]
        self.depth = [0] * len(names)
        for j, p in enumerate(parents):
            self.depth[j] = 0 if p < 0 else self.depth[p] + 1

    def ancestors(self, j: int) -> list[int]:
        out = []
        while self.parents[j] >= 0:
            j = self.parents[j]
            out.append(j)
        return out

    def children(self, j: int) -> list[int]:
        return [c for c, p in enumerate(self.parents) if p == j]

    def pick(self, cores, side, used, below=None, above=None) -> int | None:
        """The best unused joint of `side` whose core is the first of `cores` (strings or regexes) found.

        `below`: the joint must descend from it; `above`: it must be an ancestor of that joint.
        Among several, the shallowest with a non-zero bone wins.
        """
        for core in cores:
            cands = [
                j
                for j, (s, c) in enumerate(self.parts)
                if s == side
                and (c == core if isinstance(core, str) else core.fullmatch(c))
                and j not in used
                and (below is None or below in self.ancestors(j))
                and (above is None or j in self.ancestors(above))
            ]
            if cands:
                return min(cands, key=lambda j: (self.length[j] <= self.eps, self.depth[j]))
        return None

    def end_of(self, j: int | None) -> int | None:
        """The End Site of `j` if it is `j`'s only child and has length."""
        kids = [] if j is None else self.children(j)
        if len(kids) == 1 and self.end_site[kids[0]] and self.length[kids[0]] > self.eps:
            return kids[0]
        return None


def auto_map(names, parents, end_site, bone_lengths) -> RigMatch:
    """Map a rig's joints to SMPL-24 joints by name and structure (rules in the module docstring).

    Args:
        names, parents, end_site: `J` point names, parent indices (-1 for a root), End Site flags.
        bone_lengths: `(J,)` distance of each point from its parent (any unit; the root's is 0).
    """
    rig = _Rig(names, parents, end_site, bone_lengths)
    found: dict[str, int] = {}
    used: set[int] = set()

    def put(smpl: str, j: int | None) -> int | None:
        if j is not None:
            found[smpl] = j
            used.add(j)
        return j

    for side, pre in (("L", "left_"), ("R", "right_")):
        hip = put(pre + "hip", rig.pick(_HIP, side, used))
        knee = put(pre + "knee", None if hip is None else rig.pick(_KNEE, side, used, below=hip))
        ankle = put(pre + "ankle", None if knee is None else rig.pick(_ANKLE, side, used, below=knee))
        if ankle is not None:
            put(pre + "foot", _either(rig.pick(_BALL, side, used, below=ankle), rig.end_of(ankle)))
        upper = put(pre + "shoulder", _either(rig.pick(_UPPER_ARM, side, used), rig.pick(("shoulder",), side, used)))
        if upper is None:
            continue
        put(pre + "collar", rig.pick(_COLLAR, side, used, above=upper))
        elbow = put(pre + "elbow", rig.pick(_ELBOW, side, used, below=upper))
        if elbow is None:
            continue
        wrist = put(pre + "wrist", _either(rig.pick(_WRIST, side, used, below=elbow), rig.end_of(elbow)))
        if wrist is not None:
            hand = rig.pick(("hand",), side, used, below=wrist) if rig.parts[wrist][1] == "wrist" else None
            put(pre + "hand", _either(hand, _finger_point(rig, wrist)))
    hips = [found[k] for k in ("left_hip", "right_hip") if k in found]
    pelvis = rig.pick(_PELVIS, None, used)
    if pelvis is None or any(pelvis not in rig.ancestors(h) for h in hips):
        common = [a for a in rig.ancestors(hips[0]) if all(a in rig.ancestors(h) for h in hips)] if hips else []
        pelvis = common[0] if common else next(j for j, p in enumerate(parents) if p < 0)
    put("pelvis", pelvis)
    neck = put("neck", rig.pick((_NECK,), None, used, below=pelvis))
    put("head", rig.pick(_HEAD, None, used, below=neck if neck is not None else pelvis))
    top = found.get("neck", found.get("head"))
    if top is not None:
        arm_roots = ("left_collar", "right_collar", "left_shoulder", "right_shoulder")
        anchors = [rig.parents[found[k]] for k in arm_roots if k in found]
        for smpl, j in _spine(rig, pelvis, top, anchors).items():
            put(smpl, j)
    smpl_map = {k: names[j] for k, j in sorted(found.items(), key=lambda kv: sk.JOINTS.index(kv[0]))}
    return RigMatch(smpl_map, _family(names, rig), tuple(n for n in sk.JOINTS if n not in smpl_map))


def _either(a: int | None, b: int | None) -> int | None:
    return a if a is not None else b


def _finger_point(rig: _Rig, wrist: int) -> int | None:
    """First point down the wrist's non-thumb branch at least 10 % of a forearm from the wrist."""
    reach, j, dist = 0.1 * rig.length[wrist], wrist, 0.0
    while True:
        kids = [k for k in rig.children(j) if "thumb" not in rig.parts[k][1] and "thumb" not in rig.names[k].lower()]
        middle = [k for k in kids if "middle" in rig.parts[k][1]]
        if middle:
            kids = middle
        if len(kids) != 1:
            return None
        j = kids[0]
        dist += rig.length[j]
        if dist >= reach and rig.length[j] > rig.eps:
            return j


def _spine(rig: _Rig, pelvis: int, top: int, anchors: list[int]) -> dict[str, int]:
    """spine1..spine3 from the chain strictly between the pelvis and `top` (neck or head)."""
    ups = rig.ancestors(top)
    if pelvis not in ups:
        return {}
    chain = list(reversed(ups[: ups.index(pelvis)]))  # pelvis-side first
    if not chain:
        return {}
    cum = np.cumsum([rig.length[j] for j in chain])
    smpl_cum = np.cumsum([np.linalg.norm(sk.REST_OFFSETS[j]) for j in (sk.SPINE1, sk.SPINE2, sk.SPINE3, sk.NECK)])
    anchor = next((a for a in anchors if a in chain), None)
    if anchor is not None:
        k = chain.index(anchor)
        cands, frac = chain[:k], cum[:k] / max(cum[k], 1e-12)
        targets, out = ["spine1", "spine2"], {"spine3": anchor}
        target_frac = smpl_cum[:2] / smpl_cum[2]
    else:
        full = cum[-1] + rig.length[top]
        cands, frac = chain, cum / max(full, 1e-12)
        targets, out = ["spine1", "spine2", "spine3"], {}
        target_frac = smpl_cum[:3] / smpl_cum[3]
    best, best_cost = (), np.inf
    for choice in itertools.product([None, *range(len(cands))], repeat=len(targets)):
        picked = [c for c in choice if c is not None]
        if len(picked) != len(set(picked)):
            continue  # one joint per SMPL joint (the cheapest choice then keeps the chain order)
        cost = sum(_SKIP_COST if c is None else abs(frac[c] - t) for c, t in zip(choice, target_frac))
        if cost < best_cost:
            best, best_cost = choice, cost
    out.update({t: cands[c] for t, c in zip(targets, best) if c is not None})
    return out


def _family(names, rig: _Rig) -> str:
    for prefix, fam in (("mixamorig", "mixamo"), ("bip0", "biped")):
        if any(n.lower().startswith(prefix) for n in names):
            return fam
    cores = {c for s, c in rig.parts if s is not None}
    scores = {fam: len(cores & sig) for fam, sig in _FAMILIES.items()}
    fam = max(scores, key=scores.get)
    return fam if scores[fam] >= 3 else "generic"


# ----------------------------------------------------------------------------------- joint maps
def load_joint_map(path: str | Path) -> dict[str, str]:
    """Read a TOML joint map: a table `[joints]` of `smpl_name = "rig joint name"`.

    An empty string removes a joint from the automatic mapping.

    Raises:
        FormatError: missing file or invalid TOML. ConfigError: no `[joints]` table or a value
        that is not a string. UnknownNameError: a key that is not a SMPL joint name.
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such joint map file")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path}: invalid TOML ({exc})") from exc
    table = doc.get("joints")
    if not isinstance(table, dict):
        raise ConfigError(f'{path}: needs a [joints] table of smpl_name = "rig joint name"')
    for key, value in table.items():
        if key not in sk.JOINTS:
            raise UnknownNameError(f"SMPL joint in {path} [joints]:", key, sk.JOINTS)
        if not isinstance(value, str):
            raise ConfigError(f"{path}: [joints] {key} must be a joint name string, got {value!r}")
    return dict(table)


def apply_joint_map(auto: dict[str, str], user: dict[str, str], names, where: str) -> dict[str, str]:
    """The automatic mapping overridden and extended by a user map; rig joint names are checked.

    A user name matches a rig joint exactly, else case-insensitively if only one joint fits.
    `where` names the map file and the rig, for messages.

    Raises:
        UnknownNameError: a user map value names no joint of the rig (the message lists them).
    """
    lower: dict[str, list[str]] = {}
    for n in names:
        lower.setdefault(n.lower(), []).append(n)
    out = dict(auto)
    for smpl, joint in user.items():
        out.pop(smpl, None)
        if joint == "":
            continue
        if joint not in names:
            matches = lower.get(joint.lower(), [])
            if len(matches) != 1:
                raise UnknownNameError(f"rig joint in {where} ({smpl} =)", joint, names)
            joint = matches[0]
        out = {k: v for k, v in out.items() if v != joint}  # the user's use of a joint wins
        out[smpl] = joint
    return {k: out[k] for k in sk.JOINTS if k in out}


def check_required(smpl_map: dict[str, str], names, where: str) -> None:
    """Raise `RetargetError` unless the map has every joint retargeting needs."""
    missing = [k for k in REQUIRED if k not in smpl_map]
    if not any(k in smpl_map for k in REQUIRED_ANY):
        missing.append(" or ".join(REQUIRED_ANY))
    if missing:
        raise RetargetError(
            f"{where}: cannot map the rig to SMPL: no joint found for {', '.join(missing)}. "
            f'Rig joints: {", ".join(names)}. Write a joint map (TOML table [joints], smpl_name = "rig joint"; '
            "example: assets/joint_maps/rigify.toml) and pass it with --joint-map (joint_map= in Python)"
        )


# ---------------------------------------------------------------------------- unit and up axis
def detect_unit(leg_length: float) -> str:
    """The unit (key of `UNITS`, one of `AUTO_UNITS`) that makes a hip->knee->ankle length human."""
    if not leg_length > 0:
        raise RetargetError(f"cannot detect the unit: leg length {leg_length} (give the unit explicitly)")
    return min(AUTO_UNITS, key=lambda u: abs(np.log(leg_length * UNITS[u] / REFERENCE_LEG_M)))


def detect_up(head: np.ndarray, feet: np.ndarray) -> tuple[str, float]:
    """The up axis (one of `UP_AXES`) from feet to head, and how well the body aligns with it.

    Args:
        head: `(T, 3)` head (or neck) positions. feet: `(T, k, 3)` ankle/foot positions.
    Returns:
        the axis and the mean cosine (0..1) between the per-frame feet->head directions and it.
    """
    d = np.asarray(head) - np.asarray(feet).mean(axis=1)  # (T, 3)
    d = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-12)
    mean = d.mean(axis=0)
    axis = int(np.argmax(np.abs(mean)))
    sign = "+" if mean[axis] >= 0 else "-"
    return f"{sign}{'xyz'[axis]}", float(abs(mean[axis]))


def up_rotation(up: str) -> np.ndarray:
    """The rotation `(3, 3)` (det +1, a signed permutation) taking axis `up` to +z."""
    if up not in UP_AXES:
        raise UnknownNameError("up axis", up, UP_AXES)
    u = np.zeros(3)
    u["xyz".index(up[1])] = 1.0 if up[0] == "+" else -1.0
    return np.round(rot.rotation_between(u, np.array([0.0, 0.0, 1.0])))
