"""Execute notebooks in place and keep their outputs: the reference nbval compares against.

    .venv/bin/python notebooks/refresh_outputs.py                 # every notebook here
    .venv/bin/python notebooks/refresh_outputs.py 00_quickstart.ipynb scheduled_report.ipynb

Each notebook runs top to bottom in a fresh ``python3`` kernel, from this folder, against the
sandbox emulators, with a private empty ``INTEGKIT_HOME`` (so no earlier ledger row, cached
answer or stored token leaks into the outputs). Execution counts are renumbered 1, 2, 3...
and per-cell timing metadata is dropped, so a refresh without a real change leaves no diff.
Once a notebook has stored outputs, ``pytest`` checks them strictly (``--nbval``), with
``nbval_sanitize.cfg`` masking the volatile parts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
_VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled")


def refresh(path: Path, *, timeout: int = 600, kernel: str = "python3") -> None:
    """Run ``path`` in a fresh kernel and write it back with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="integkit-refresh-") as home:
        previous = os.environ.get("INTEGKIT_HOME")
        os.environ["INTEGKIT_HOME"] = home
        try:
            NotebookClient(notebook, timeout=timeout, kernel_name=kernel,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:
            if previous is None:
                os.environ.pop("INTEGKIT_HOME", None)
            else:
                os.environ["INTEGKIT_HOME"] = previous
    count = 0
    for cell in notebook.cells:
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = count
    nbformat.validate(notebook)
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to refresh (default: all here)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [Path(p) if Path(p).exists() else HERE / p for p in args.notebooks] or sorted(
        HERE.glob("*.ipynb"))
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr)
        refresh(path.resolve(), timeout=args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
