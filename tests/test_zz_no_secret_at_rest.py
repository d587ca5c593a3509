"""After the whole run: no registered secret (API keys, tokens, passwords the tests handed to
integkit) is in plain text in any file the run left behind (state databases, HTTP cache,
ledger, Parquet results, checkpoints, token store) or in integkit's DEBUG log of the run.

Collected last (see conftest.py); run alone it checks what that run left.
"""

from __future__ import annotations

from pathlib import Path

from integkit._events import _secrets

# Inputs the tests wrote themselves (key material handed to integkit, config files with
# ${VARS}), not something integkit stored.
_INPUTS = {".pem", ".key", ".crt", ".yaml", ".yml", ".json", ".toml", ".py", ".ipynb"}


def test_no_secret_in_files_or_logs_left_by_the_run(tmp_path_factory, run_log: Path) -> None:
    root = tmp_path_factory.getbasetemp()
    secrets = sorted({s for s in _secrets if len(s) >= 12})
    assert secrets, "the run registered no secret: nothing was checked"
    leaks = []
    scanned = 0
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix in _INPUTS or path.name == "token.key":
            continue
        data = path.read_bytes()
        scanned += 1
        leaks += [(str(path), s[:4] + "...") for s in secrets if s.encode() in data]
    log = run_log.read_text(errors="replace")
    leaks += [("run log", s[:4] + "...") for s in secrets if s in log]
    assert scanned > 10
    assert not leaks, leaks
