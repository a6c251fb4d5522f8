"""ARCHITECTURE.md against the code: every module is in the map, no module imports a higher
layer (module-level and function-level imports alike), and there are no import cycles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bridgebayes"
DOC = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _layers() -> list[str]:
    return re.findall(r"^\d+\. `([a-z_]+)/`", DOC, flags=re.M)


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, packages by their ``__init__``."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The bridgebayes modules a file imports (anywhere in it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bridgebayes")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("bridgebayes"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    out = set()
    for name in found:
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        out.add(name)
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return _layers().index(parts[1]) if len(parts) > 1 and parts[1] in _layers() else None


def test_the_layer_list_names_every_subpackage():
    subpackages = sorted(p.name for p in PACKAGE.iterdir()
                         if p.is_dir() and (p / "__init__.py").is_file())
    assert sorted(_layers()) == subpackages


def test_every_module_is_in_the_map_and_the_map_has_no_stale_rows():
    mapped = set(re.findall(r"^\| `(bridgebayes/[^`]+\.py)` \|", DOC, flags=re.M))
    files = {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
             if p.name != "__init__.py" or p.parent == PACKAGE}
    assert sorted(files - mapped) == [], "modules missing from ARCHITECTURE.md"
    stale = [m for m in mapped if not (ROOT / m).is_file()]
    assert stale == [], "rows of ARCHITECTURE.md without a module"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) is not None))
def test_no_module_imports_a_higher_layer(module):
    upward = sorted(t for t in _imports(MODULES[module])
                    if _layer(t) is not None and _layer(t) > _layer(module))
    assert upward == [], f"{module} imports higher layers"


def test_there_are_no_import_cycles():
    graph = {m: _imports(p) - {m} for m, p in MODULES.items() if m != "bridgebayes"}
    state, stack, cycles = {}, [], []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in graph.get(node, ()):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target):], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_modules_stay_small():
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert big == {}


def test_one_nuts_driver():
    users = sorted(str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                   if re.search(r"\b(pm\.sample|nutpie\.sample)\(", p.read_text("utf-8")))
    assert users == ["bridgebayes/inference/driver.py"]


def test_no_family_names_outside_the_registry():
    """Code outside models/families never branches on a family's name or type."""
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?["'](pem|piecewise_exponential|weibull)["']|"""
                         r"""isinstance\([^)]*(PiecewiseExponentialPH|WeibullPH)""")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "families" in path.parts:
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
