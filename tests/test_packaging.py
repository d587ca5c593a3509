"""A plain ``pip install`` of the wheel ships the connector definitions and makes real calls."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_in_a_fresh_venv_ships_definitions_and_calls(tmp_path: Path) -> None:
    import integkit as ik

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    wheel = next(tmp_path.glob("integkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "integkit/_connectors/stripe.yaml" in names
    assert "integkit/connector.schema.json" in names  # the definitions' JSON Schema
    assert not [n for n in names if n.startswith("tests/")]
    assert "integkit/py.typed" in names  # type hints ship for users' mypy
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   timeout=540)

    with ik.sandbox("stripe", records=150) as sb:
        script = textwrap.dedent(f"""
            import integkit as ik
            from integkit.engine import definition_dirs
            assert "site-packages" in str(definition_dirs()[0]), definition_dirs()
            conn = ik.connect("stripe", api_key={sb.api_key!r}, base_url={sb.url!r})
            df = conn.list("charges").to_frame()
            print(len(df), df["id"].is_unique)
        """)
        done = subprocess.run([str(python), "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["150", "True"]

    # Without the sandbox extra, the demo says what to install (no traceback from a child).
    cli = venv / "bin" / "integkit"
    demo = subprocess.run([str(cli), "demo"], capture_output=True, text=True, timeout=120)
    assert demo.returncode == 2 and "Traceback" not in demo.stderr, demo.stderr
    assert "pip install 'integkit[sandbox]'" in demo.stderr
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"integkit {ik.__version__}"
