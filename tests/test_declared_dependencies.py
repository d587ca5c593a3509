"""What integkit imports is what pyproject.toml declares, and the other way round.

Every third-party module imported anywhere in ``integkit/`` (read with ``ast``, so imports
inside functions count too) must come from a distribution named in ``dependencies`` or in an
extra users install (``sandbox``, ``notebook``, ``aws``...); never from one that only arrives
as someone else's dependency, nor from ``dev``/``bench``, which are for working on integkit.
And every distribution those declare must be imported by integkit: a declared package that
nothing imports is weight on every install.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "integkit"
PROJECT_ONLY_EXTRAS = {"dev", "bench"}  # for working on integkit: never imported by it


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return _normal(match.group(1))


def declared() -> dict[str, str]:
    """Distribution (normalised) -> where pyproject declares it (``dependencies``, an extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {_requirement_name(r): "dependencies" for r in project["dependencies"]}
    for extra, requirements in project["optional-dependencies"].items():
        if extra in PROJECT_ONLY_EXTRAS:
            continue
        for requirement in requirements:
            name = _requirement_name(requirement)
            if name != "integkit":
                found.setdefault(name, f"the {extra} extra")
    return found


def imported_modules() -> dict[str, list[str]]:
    """Top-level third-party module -> the integkit files importing it."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "integkit" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return {module: sorted(files) for module, files in found.items()}


def distributions(module: str) -> set[str]:
    """The installed distributions providing ``module`` (normalised names)."""
    providers = importlib.metadata.packages_distributions().get(module)
    if providers:
        return {_normal(d) for d in providers}
    return set()


def test_the_scan_sees_imports_inside_functions_too() -> None:
    modules = imported_modules()
    # joserfc and anyio are imported only inside functions; boto3 behind TYPE_CHECKING too
    assert "integkit/sandbox/_oauth.py" in modules["joserfc"]
    assert "integkit/auth/_oauth.py" in modules["anyio"]
    assert {"httpx", "starlette", "boto3"} <= set(modules)
    assert not {"os", "json", "typing", "integkit"} & set(modules)


def test_every_third_party_module_integkit_imports_is_declared() -> None:
    wanted = declared()
    undeclared, unknown = [], []
    for module, files in imported_modules().items():
        providers = distributions(module)
        if not providers:
            # Not installed here (an extra this environment lacks): its import name must be
            # a declared distribution's name, or the map cannot be checked.
            if _normal(module) not in wanted:
                unknown.append(f"{module} (imported by {', '.join(files)})")
            continue
        if not providers & set(wanted):
            undeclared.append(f"{module} from {'/'.join(sorted(providers))} "
                              f"(imported by {', '.join(files)})")
    assert not undeclared, "imported but not declared in pyproject.toml: " + "; ".join(undeclared)
    assert not unknown, "imported, not installed, and not declared: " + "; ".join(unknown)


def test_every_declared_distribution_is_imported_by_integkit() -> None:
    provided: set[str] = set()
    modules = imported_modules()
    for module in modules:
        provided |= distributions(module) or {_normal(module)}
    unused = sorted(f"{name} ({where})" for name, where in declared().items()
                    if name not in provided)
    assert not unused, "declared in pyproject.toml but never imported by integkit: " + \
        ", ".join(unused)
