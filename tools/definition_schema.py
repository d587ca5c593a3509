"""Write the JSON Schema of connector definitions, ``integkit/connector.schema.json``.

The schema is generated from the declarations the loader enforces (``DEFINITION`` and the
specs of its sections in ``integkit/engine/_definition.py``), so it never drifts from them:
after changing a section's keys or checks, run

    python tools/definition_schema.py            # rewrite the schema file
    python tools/definition_schema.py --check    # exit 1 when the file is stale

(tests/unit/test_definition_schema.py runs the check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "integkit" / "connector.schema.json"


def render() -> str:
    """The schema file's text, as the loader's declarations generate it."""
    sys.path.insert(0, str(ROOT))
    from integkit.engine._definition import definition_schema

    return json.dumps(definition_schema(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the schema file differs from what is generated")
    args = parser.parse_args(argv)
    text = render()
    current = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else None
    if args.check:
        if current != text:
            print(f"{SCHEMA_FILE.relative_to(ROOT)} is stale: run python "
                  "tools/definition_schema.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        SCHEMA_FILE.write_text(text)
        print(f"wrote {SCHEMA_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
