"""Files shipped with motionloop (weights, the bundled clips, the humanoid), found through the package.

In a source checkout or an editable install `motionloop/assets` is a link to the repository's
`assets/`; a wheel carries the files themselves there (pyproject's package-data). Either way
they are found from the package, so a command works from any directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def asset(*parts: str) -> Path:
    """The path of a shipped file, e.g. `asset("models", "evaluator.pt")` (it may not exist in
    a trimmed install; callers check and say what is missing)."""
    return Path(str(resources.files("motionloop").joinpath("assets", *parts)))


BASE_MODEL = asset("models", "base_cpu_small.pt")
EVALUATOR = asset("models", "evaluator.pt")
BUNDLED_DATA = asset("data")
HUMANOID_XML = asset("humanoid.xml")
