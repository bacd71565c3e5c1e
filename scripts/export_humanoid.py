"""Write the default humanoid MJCF to assets/humanoid.xml (tests check it is current).

python scripts/export_humanoid.py
"""

from pathlib import Path

from motionloop.io import write_text
from motionloop.physics.humanoid import build_mjcf

if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "assets" / "humanoid.xml"
    write_text(out, build_mjcf())
    print(f"wrote {out}")
