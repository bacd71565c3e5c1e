"""Screenshot a viewer page (`motionloop view ... --out page.html`) in headless Debian chromium.

    python scripts/screenshot_viewer.py page.html --out viewer.png [--frame K]

Needs `apt-get install chromium` and `pip install playwright` (no browser download: playwright
drives /usr/bin/chromium). Used for the pictures in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("page")
    p.add_argument("--out", required=True)
    p.add_argument("--frame", type=int, default=0, help="show this frame (paused)")
    p.add_argument("--size", default="1200x620")
    args = p.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("screenshot_viewer: needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    w, h = (int(v) for v in args.size.split("x"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": w, "height": h})
        page.goto(Path(args.page).resolve().as_uri())
        page.wait_for_function(
            "window.motionloopViewers && window.motionloopViewers.every(v => v.state.draws > 0)", timeout=30_000
        )
        page.click(".mlv-play")
        page.evaluate(f"window.motionloopViewers[0].setFrame({args.frame})")
        page.wait_for_function("window.motionloopViewers[0].state.dirty === false")
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
