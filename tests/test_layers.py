"""The package's layering (docs/design.md, "Module layering"): which subpackage may import which.

Module-level imports only: a function-level import (a lazy, optional dependency such as the
sampler's physics projection) is allowed across layers and listed in the docs.
"""

import ast
from pathlib import Path

import motionloop

ROOT = Path(motionloop.__file__).parent
CORE = {
    "errors",
    "io",
    "config",
    "rotations",
    "skeleton",
    "body",
    "ik",
    "motion",
    "resources",
    "bench",
    "raycluster",
    "device",
}
ALLOWED = {
    "core": CORE,
    "data": CORE | {"data"},
    "physics": CORE | {"physics"},
    "export": CORE | {"export"},
    "model": CORE | {"data", "model"},
    "eval": CORE | {"data", "eval"},
    "viz": CORE | {"physics", "viz"},
    "loop": CORE | {"data", "model", "physics", "eval", "loop"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else "core"


def _module_level_imports(source: str) -> list[str]:
    """`motionloop.X` targets (X = first component) of the module-level imports of a source."""
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "motionloop":
                out += [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name.split(".")[1] for a in node.names if a.name.startswith("motionloop.")]
    return out


def test_every_module_imports_only_from_its_own_layer_or_below():
    bad = []
    files = [p for p in ROOT.rglob("*.py") if p.name not in ("cli.py", "__main__.py") or p.parent != ROOT]
    assert len(files) > 50
    for path in files:
        layer = _layer(path)
        if layer not in ALLOWED:  # a new subpackage must be placed in the table
            bad.append(f"{path.relative_to(ROOT)}: subpackage {layer!r} has no layer")
            continue
        for target in _module_level_imports(path.read_text()):
            if target not in ALLOWED[layer] and target != "__version__":
                bad.append(f"{path.relative_to(ROOT)} imports motionloop.{target}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_violation():
    src = (
        "import numpy\nfrom motionloop.loop.engine import run_loop\nimport motionloop.model.train\n"
        "from motionloop import skeleton\ndef f():\n    from motionloop.viz import render\n"
    )
    targets = _module_level_imports(src)
    assert targets == ["loop", "model", "skeleton"]  # the function-level import is not counted
    assert [t for t in targets if t not in ALLOWED["data"]] == ["loop", "model"]
