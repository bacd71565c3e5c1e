"""Files shipped with motionloop (weights, bundled clips, humanoid, presets), found through the package.

In a source checkout or an editable install `motionloop/assets` is a link to the repository's
`assets/`; a wheel carries the files themselves there (pyproject's package-data). Either way
they are found from the package, so a command works from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_file(*parts: str) -> Path:
    """The path of a file inside the installed package, e.g. `package_file("configs", "demo.toml")`."""
    return Path(str(resources.files("motionloop").joinpath(*parts)))


def asset(*parts: str) -> Path:
    """The path of a shipped file, e.g. `asset("models", "evaluator.pt")` (it may not exist in
    a trimmed install; callers check and say what is missing)."""
    return package_file("assets", *parts)


BASE_MODEL = asset("models", "base_cpu_small.pt")
EVALUATOR = asset("models", "evaluator.pt")
BUNDLED_DATA = asset("data")
HUMANOID_XML = asset("humanoid.xml")
PRESET_DIR = package_file("configs")  # the loop presets
VIEWER_STATIC = package_file("viz", "static")  # the 3D viewer's script
