import base64
import io
import os
import re
import shutil

import numpy as np
import pytest
from clips import standing
from PIL import Image

from motionloop import body as bd
from motionloop.errors import MotionloopError
from motionloop.viz import marks as mk
from motionloop.viz.viewer import viewer_data, viewer_fragment, write_viewer

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]


def _arr(b64: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=dtype)


def test_viewer_data_arrays_match_the_clips(stepping):
    a = stepping(frames=20, fps=20.0)
    b = standing(frames=30, fps=40.0, lift=-0.05)  # resampled to 15 frames at 20 fps
    data = viewer_data([a, b], titles=["gen", "sunk"])
    assert data["fps"] == 20.0 and data["frames"] == 20
    ca, cb = data["clips"]
    assert cb["frames"] == 15 and ca["title"] == "gen" and "pen" in cb["metrics"]
    pos = _arr(ca["pos"], "<f4").reshape(20, 24, 3)
    np.testing.assert_allclose(pos, a.joints(), atol=1e-5)
    quat = _arr(ca["quat"], "<f4").reshape(20, 24, 4)
    np.testing.assert_allclose(np.linalg.norm(quat, axis=-1), 1.0, atol=1e-5)
    G = len(bd.geometry())
    flags = _arr(cb["flags"], np.uint8).reshape(15, G)
    assert np.all(flags[:, [i for i, g in enumerate(bd.geometry()) if isinstance(g, bd.Box)]] & 2)
    head = [i for i, g in enumerate(bd.geometry()) if g.joint == mk.sk.HEAD]
    assert not np.any(flags[:, head])
    contact = _arr(ca["flags"], np.uint8).reshape(20, G) & 1
    np.testing.assert_array_equal(contact.any(axis=1), mk.body_marks(a).contact.any(axis=1))


def test_page_is_self_contained(tmp_path):
    page = write_viewer([standing(frames=5)], tmp_path / "v.html", titles=["a </script><b>"]).read_text()
    assert "<script src" not in page and not re.search(r"https?://", page)
    assert page.count("</script>") == 2  # the title's "</script>" is escaped inside the JSON
    with pytest.raises(MotionloopError, match=r"\.html"):
        write_viewer([standing(frames=5)], tmp_path / "v.txt")
    with pytest.raises(MotionloopError, match="no clips"):
        write_viewer([], tmp_path / "w.html")


def test_page_size_is_about_a_kilobyte_per_frame(tmp_path):
    size = write_viewer([standing(frames=200)], tmp_path / "v.html").stat().st_size
    assert size < 200 * 1200 + 30_000


# ---------------------------------------------------------------- in a real browser
@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by playwright (no browser download)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        msg = "needs Debian's chromium and the playwright package (apt-get install chromium; pip install playwright)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def _open(browser, path):
    page = browser.new_page(viewport={"width": 1000, "height": 600})
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function(
        "window.motionloopViewers && window.motionloopViewers.every(v => v.state.draws > 0)", timeout=20_000
    )
    return page, problems


def _shot(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def _skin(img: np.ndarray) -> int:
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return int(((r > g + 25) & (g > b + 15)).sum())


def test_viewer_draws_and_the_scrubber_moves_the_frame(tmp_path, browser, stepping):
    clip = stepping(frames=40)
    path = write_viewer(
        [clip, clip.replace(trans=clip.trans - [0, 0, 0.05])], tmp_path / "v.html", titles=["walk", "sunk"]
    )
    page, problems = _open(browser, path)
    assert page.evaluate("window.motionloopViewers[0].error") is None
    page.click(".mlv-play")  # pause, so that only the scrubber moves the frame
    page.evaluate("window.motionloopViewers[0].setFrame(0)")
    page.wait_for_function("window.motionloopViewers[0].state.dirty === false")
    canvas = page.locator("canvas")
    first = _shot(canvas)
    assert first.std() > 10 and _skin(first) > 200  # not blank: floor, grid and bodies drawn
    assert "frame 1/40" in page.inner_text(".mlv-frame")
    page.focus(".mlv-scrub")
    page.keyboard.press("End")
    page.wait_for_function("window.motionloopViewers[0].state.frame === 39 && !window.motionloopViewers[0].state.dirty")
    last = _shot(canvas)
    assert np.abs(last - first).mean() > 0.5
    assert "frame 40/40" in page.inner_text(".mlv-frame")
    assert "sunk" in page.inner_text(".mlv-titles") and "pen" in page.inner_text(".mlv-titles")
    az = page.evaluate("window.motionloopViewers[0].state.az")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 320, box["y"] + 130, steps=4)
    page.mouse.up()
    page.wait_for_function("!window.motionloopViewers[0].state.dirty")
    assert page.evaluate("window.motionloopViewers[0].state.az") != az
    assert np.abs(_shot(canvas) - last).mean() > 0.5  # orbiting moved the view
    assert problems == []
    page.close()


def test_fragments_embed_twice_in_one_page(tmp_path, browser):
    frags = [viewer_fragment([standing(frames=8)]), viewer_fragment([standing(frames=8, lift=0.2)])]
    path = tmp_path / "report.html"
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'></head><body><h1>report</h1>"
        + "".join(frags)
        + "</body></html>"
    )
    page, problems = _open(browser, path)
    assert page.evaluate("window.motionloopViewers.length") == 2
    assert page.locator("canvas").count() == 2 and problems == []
    page.close()


def test_a_grid_draws_every_cell_with_its_title_over_it(tmp_path, browser, stepping):
    clip = stepping(frames=20)
    clips = [clip, clip.replace(trans=clip.trans - [0, 0, 0.05]), clip, clip]
    path = write_viewer(clips, tmp_path / "g.html", titles=["a", "b", "c", "d"], columns=2)
    page, problems = _open(browser, path)
    page.click(".mlv-play")
    page.wait_for_function("window.motionloopViewers[0].state.dirty === false")
    canvas = page.locator("canvas")
    box = canvas.bounding_box()
    assert box["height"] == pytest.approx(box["width"] * 0.75, rel=0.05)  # two rows of 4:3 half-width cells
    img = _shot(canvas)
    h, w = img.shape[0] // 2, img.shape[1] // 2
    for cell in (img[:h, :w], img[:h, w:], img[h:, :w], img[h:, w:]):
        assert _skin(cell) > 50  # a body in every cell
    titles = page.locator(".mlv-overlay .mlv-title")
    assert titles.count() == 4 and "d" in titles.nth(3).inner_text()
    assert titles.nth(2).bounding_box()["y"] > box["y"] + box["height"] / 2 - 5  # c's title sits on the second row
    assert problems == []
    page.close()
