"""Layers import one way: import-linter keeps the contracts in pyproject.toml.

notebook -> connect -> engine -> results -> cache -> http -> state, over the shared foundation
(_errors, _events, _config, _display...); production code never imports the emulators. Debt still
allowed is listed, with its reason, under ``ignore_imports`` there (an ignore that no longer
matches an import fails too, so the list only shrinks).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    """Run import-linter's ``lint-imports`` (this interpreter's) from the project root."""
    return subprocess.run([sys.executable, "-c", _LINT, "--no-cache", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_every_import_contract_is_kept() -> None:
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 5 kept, 0 broken." in done.stdout, done.stdout


def test_a_contract_the_code_breaks_fails_with_the_offending_import(tmp_path: Path) -> None:
    config = tmp_path / "upside_down.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "integkit"\n\n'
        '[[tool.importlinter.contracts]]\nname = "state above http"\ntype = "layers"\n'
        'layers = ["integkit._state", "integkit._http"]\n'
    )
    done = lint_imports("--config", str(config))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "state above http BROKEN" in done.stdout
    assert "integkit._http is not allowed to import integkit._state" in done.stdout
