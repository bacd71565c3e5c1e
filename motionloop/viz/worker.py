"""Child-process entry of render.py: `python -m motionloop.viz.worker SPEC.json`.

Used when the parent process imported mujoco with a GL backend that cannot render offscreen
(see gl.py). The parent sets MUJOCO_GL in this process's environment, so the `import mujoco`
below picks the right backend. SPEC.json holds the aligned clips' paths, the output path,
titles, metrics and the RenderConfig.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from motionloop.motion import Motion
from motionloop.viz.render import config_from_dict, render_aligned
from motionloop.viz.video import check_output


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    spec = json.loads(Path(argv[0]).read_text())
    out, fmt = check_output(spec["out"])
    clips = [Motion.load(p) for p in spec["clips"]]
    render_aligned(clips, out, fmt, spec["titles"], spec["metrics"], config_from_dict(spec["config"]), engine="mujoco")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
