import logging

import imageio.v2 as imageio
import imageio.v3 as iio
import numpy as np
import pytest
from clips import standing
from PIL import Image

from motionloop import skeleton as sk
from motionloop.errors import ConfigError, MotionloopError, UnknownNameError
from motionloop.viz import gl
from motionloop.viz import marks as mk
from motionloop.viz import render as rd
from motionloop.viz.camera import CameraConfig, follow_track, project
from motionloop.viz.render import RenderConfig, render
from motionloop.viz.stick import BACKGROUND, GRID_COLOUR
from motionloop.viz.video import OutputError

SMALL = (160, 120)


def _green(img: np.ndarray) -> int:
    """Pixels of the contact green (lit or not)."""
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return int(((g > 1.5 * r) & (g > 1.3 * b) & (g > 60)).sum())


def _red(img: np.ndarray) -> int:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return int(((r > 2 * g) & (r > 2 * b) & (r > 80)).sum())


def _png(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize("backend", ["mujoco", "stick"])
def test_png_frame_shows_contacts_and_penetration(tmp_path, backend, request):
    if backend == "mujoco":
        request.getfixturevalue("gl_backend")
    cfg = RenderConfig(size=(320, 240), backend=backend, frame=0)
    ground = _png(render(standing(frames=3), tmp_path / "ground.png", config=cfg))
    lifted = _png(render(standing(frames=3, lift=0.15), tmp_path / "lifted.png", config=cfg))
    sunk = _png(render(standing(frames=3, lift=-0.04), tmp_path / "sunk.png", config=cfg))
    assert ground.shape == (240, 320, 3)
    assert _green(ground) > 20 and _green(lifted) == 0  # feet green only when they touch
    assert _red(sunk) > 20 and _red(ground) == 0  # parts under the floor red


def test_mujoco_camera_matches_projection(tmp_path, gl_backend):
    clip = standing(frames=3)
    cfg = RenderConfig(size=(320, 240), backend="mujoco", frame=0)
    img = _png(render(clip, tmp_path / "f.png", config=cfg))
    look = follow_track(clip.trans, clip.fps, cfg.camera)[0]
    head = clip.joints()[0, sk.HEAD] + [0, 0, 0.07]  # the head sphere's centre
    x, y = project(head, look, cfg.camera, cfg.size).round().astype(int)
    r, _g, b = img[y, x].astype(int)
    assert r > b + 40 and r > 100, f"head pixel {img[y, x]} is not skin"
    sky = project(head + [0, 0, 0.5], look, cfg.camera, cfg.size).round().astype(int)
    r, _g, b = img[sky[1], sky[0]].astype(int)
    assert b >= r, f"pixel above the head {img[sky[1], sky[0]]} is not sky"


def test_contact_sheet_rows(tmp_path, stepping):
    clip = stepping(frames=10)
    img = _png(render(clip, tmp_path / "sheet.png", config=RenderConfig(size=SMALL, backend="stick", sheet=3)))
    assert img.shape == (3 * SMALL[1] + 2 * 4, SMALL[0], 3)
    rows = [img[i * (SMALL[1] + 4) : i * (SMALL[1] + 4) + SMALL[1]] for i in range(3)]
    assert not np.array_equal(rows[0], rows[2])  # different moments


def test_gif_and_mp4_have_every_frame(tmp_path, gl_backend, stepping):
    clip = stepping(frames=12)
    cfg = RenderConfig(size=SMALL)
    gif = render(clip, tmp_path / "c.gif", config=cfg)
    frames = iio.imread(gif, index=None)
    assert frames.shape[:3] == (12, SMALL[1], SMALL[0])
    assert not np.array_equal(frames[0], frames[-1])
    mp4 = render(clip, tmp_path / "c.mp4", config=cfg)
    with imageio.get_reader(mp4, format="FFMPEG") as reader:
        assert reader.get_meta_data()["codec"] == "h264"
        video = np.stack([f for f in reader])  # not list(reader): its length is reported as inf
    assert video.shape[:3] == (12, SMALL[1], SMALL[0])


def test_compare_resamples_and_holds_last_frame(tmp_path, caplog, stepping):
    a = stepping(frames=20, fps=20.0).replace(source="gen.npz")
    b = stepping(frames=30, fps=40.0).replace(source="corrected.npz")  # 0.725 s -> 15 frames at 20 fps
    with caplog.at_level(logging.INFO, logger="motionloop.viz"):
        out = render([a, b], tmp_path / "cmp.gif", config=RenderConfig(size=SMALL, backend="stick"))
    frames = iio.imread(out, index=None)
    assert frames.shape[:3] == (20, SMALL[1], 2 * SMALL[0])
    text = caplog.text
    assert "corrected: 40 fps resampled to 20 fps" in text and "last frame is held" in text

    # the held clip's body no longer moves after its last frame (only the counter changes)
    def right(k):
        cfg = RenderConfig(size=SMALL, backend="stick", frame=k)
        return _png(render([a, b], tmp_path / f"f{k}.png", config=cfg))[SMALL[1] // 5 : -SMALL[1] // 6, SMALL[0] :]

    assert np.array_equal(right(16), right(19))
    assert not np.array_equal(right(5), right(14))


def _skin(img: np.ndarray, tol: int = 25) -> np.ndarray:
    """Mask of the stick figure's bone colour (marks.SKIN shaded by 0.85, as stick.py draws bones)."""
    skin = np.round(np.array(mk.SKIN[:3]) * 0.85 * 255)
    return np.abs(img.astype(int) - skin).max(axis=-1) <= tol


def _distance_to_bones(joints_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Distance (px) of every pixel centre of an `(H, W)` picture to the nearest projected bone."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    pts = np.stack([xs + 0.5, ys + 0.5], axis=-1).reshape(-1, 1, 2)  # pixel centres
    children = np.array([j for j in range(sk.NUM_JOINTS) if sk.PARENTS[j] >= 0])
    a, b = joints_px[np.asarray(sk.PARENTS)[children]], joints_px[children]  # (J - 1, 2) bone ends
    ab = b - a
    u = np.clip(((pts - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0.0, 1.0)
    return np.linalg.norm(pts - (a + u[..., None] * ab), axis=-1).min(axis=1).reshape(shape)


def test_auto_falls_back_to_stick_with_a_warning(tmp_path, monkeypatch, caplog):
    """Without a GL backend "auto" draws the stick figure: the same picture as the stick engine,
    on its background, with the bones where the camera projects the body."""
    size = (240, 180)
    monkeypatch.setattr(gl, "plan", lambda: ("none", None))
    clip = standing(frames=2).replace(label=None)  # no label and empty titles: no title band
    bent = clip.poses.copy()
    bent[:, sk.RIGHT_SHOULDER, 2] = -1.2  # the right arm raised overhead
    bent[:, sk.LEFT_HIP, 0] = -1.2  # the left leg kicked forward
    raised = clip.replace(poses=bent)

    def draw(motion, name, backend="auto"):
        cfg = RenderConfig(size=size, frame=0, backend=backend)
        return _png(render(motion, tmp_path / name, titles=[""], metrics=[{}], config=cfg))

    with caplog.at_level(logging.WARNING):
        img = draw(clip, "a.png")
    assert "stick figure" in caplog.text
    assert img.shape == (size[1], size[0], 3)
    assert np.array_equal(img, draw(clip, "stick.png", backend="stick"))  # the fallback is the stick engine
    assert img.std() > 10  # not a blank picture

    # the most common colour is stick.BACKGROUND; neither it nor the grid passes for a bone
    colours, counts = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
    assert np.abs(colours[counts.argmax()] - np.round(np.array(BACKGROUND) * 255)).max() <= 1
    assert not _skin(np.round(np.array([[BACKGROUND, GRID_COLOUR]]) * 255)).any()

    other = draw(raised, "raised.png")
    cam = RenderConfig().camera
    for motion, picture in ((clip, img), (raised, other)):
        look = follow_track(motion.trans, motion.fps, cam)[0]
        px = project(motion.joints()[0], look, cam, size)  # (24, 2)
        assert np.all(np.isfinite(px)) and px.min() > 0 and np.all(px < size)  # the body is in the picture
        skin = _skin(picture)
        dist = _distance_to_bones(px, skin.shape)
        assert skin.sum() > 150  # a figure of some size, not a stray pixel
        assert dist[skin].max() < 5  # every bone pixel lies on a projected bone (4 pt lines)...
        assert skin[dist < 1].mean() > 0.8  # ...and the bones are drawn along their whole length
    # another pose, another picture: the right hand moves from shoulder height to above the head
    assert not np.array_equal(img, other)
    look = follow_track(raised.trans, raised.fps, cam)[0]
    hand = project(raised.joints()[0, sk.RIGHT_WRIST], look, cam, size).astype(int)
    old_hand = project(clip.joints()[0, sk.RIGHT_WRIST], look, cam, size).astype(int)
    assert np.linalg.norm(hand - old_hand) > 20
    assert _skin(other)[hand[1], hand[0]] and not _skin(img)[hand[1], hand[0]]
    assert _skin(img)[old_hand[1], old_hand[0]] and not _skin(other)[old_hand[1], old_hand[0]]

    with pytest.raises(MotionloopError, match="libegl1"):
        render(standing(frames=2), tmp_path / "b.png", config=RenderConfig(size=SMALL, backend="mujoco"))


def test_child_process_renders_when_mujoco_was_imported_elsewhere(tmp_path, monkeypatch, gl_backend):
    monkeypatch.setattr(gl, "plan", lambda: ("subprocess", gl_backend))
    called = []
    monkeypatch.setattr(rd, "render_aligned", lambda *a, **k: called.append(1))  # the parent must not draw itself
    cfg = RenderConfig(size=SMALL, frame=1)
    out = render([standing(frames=3), standing(frames=3, lift=-0.04)], tmp_path / "child.png", config=cfg)
    img = _png(out)
    assert not called and img.shape == (SMALL[1], 2 * SMALL[0], 3)
    assert _red(img[:, SMALL[0] :]) > 5 and _red(img[:, : SMALL[0]]) == 0


def test_bad_outputs_fail_before_rendering(tmp_path):
    clip = standing(frames=2)
    with pytest.raises(UnknownNameError, match=r"\.mp4"):
        render(clip, tmp_path / "x.avi")
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    with pytest.raises(OutputError, match="cannot create directory"):
        render(clip, blocker / "x.mp4")
    with pytest.raises(ConfigError, match="past the clip"):
        render(clip, tmp_path / "x.png", config=RenderConfig(size=SMALL, backend="stick", frame=5))
    with pytest.raises(MotionloopError, match="2 clips but 1 titles"):
        render([clip, clip], tmp_path / "y.png", titles=["one"], config=RenderConfig(backend="stick"))
    with pytest.raises(ConfigError, match="backend"):
        RenderConfig(backend="opengl")
    with pytest.raises(ConfigError, match="16..4096"):
        RenderConfig(size=(8, 8))
    assert rd.parse_size("320x240") == (320, 240)
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        rd.parse_size("320,240")
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob(".*"))


def test_titles_carry_metrics(tmp_path):
    """The title band differs when the metrics differ (they are drawn, not just computed)."""
    clip = standing(frames=2)
    cfg = RenderConfig(size=(320, 240), backend="stick", frame=0)
    a = _png(render(clip, tmp_path / "a.png", metrics=[{"penetrate_mm": 1.0}], config=cfg))
    b = _png(render(clip, tmp_path / "b.png", metrics=[{"penetrate_mm": 99.0}], config=cfg))
    band = slice(0, 30)
    assert not np.array_equal(a[band], b[band]) and np.array_equal(a[100:200], b[100:200])


def test_camera_config_reaches_both_engines(tmp_path):
    near = RenderConfig(size=SMALL, backend="stick", frame=0, camera=CameraConfig(distance=2.0))
    far = RenderConfig(size=SMALL, backend="stick", frame=0)
    a = _png(render(standing(frames=2), tmp_path / "n.png", config=near))
    b = _png(render(standing(frames=2), tmp_path / "f.png", config=far))
    assert not np.array_equal(a, b)


def _fake_mujoco(backend: str):
    import types

    ctx = type("GLContext", (), {"__module__": f"mujoco.{backend}"})
    return types.SimpleNamespace(GLContext=ctx)


def test_gl_plan_follows_what_was_imported(monkeypatch):
    import os
    import sys

    monkeypatch.setattr(gl, "probe", lambda: "egl")
    monkeypatch.setitem(sys.modules, "mujoco", _fake_mujoco("glfw"))
    assert gl.plan() == ("subprocess", "egl")  # imported for physics without MUJOCO_GL: GLFW
    monkeypatch.setitem(sys.modules, "mujoco", _fake_mujoco("egl"))
    assert gl.plan() == ("inprocess", "egl")
    monkeypatch.delitem(sys.modules, "mujoco")
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    assert gl.plan() == ("inprocess", "egl") and os.environ["MUJOCO_GL"] == "egl"  # set before the import
    monkeypatch.setattr(gl, "probe", lambda: None)
    assert gl.plan() == ("none", None)


def test_probe_rejects_a_backend_that_cannot_start():
    assert gl._works("no-such-backend") is False  # mujoco refuses the MUJOCO_GL value in the child
