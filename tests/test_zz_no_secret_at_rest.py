"""After the whole run: no registered secret (API keys, tokens, passwords the tests handed to
integkit) is in plain text in any file the run left behind, whatever its type: state
databases and their WAL files, the HTTP cache, the ledger, Parquet results (read back column by
column, since their pages may be compressed), checkpoints (JSON and JSON lines), logs, HTML
reports, executed notebooks, gzip files; nor in integkit's DEBUG log of the run, nor in the
test Redis database.

Only key material a test handed to integkit (PEM files, the token store's own key) and
source files are not checked: every other file is, config files and definitions included
(they hold ``${VARS}``, never the secret itself).

Collected last (see conftest.py); run alone it checks what that run left.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from integkit._events import _secrets

# What a test hands to integkit, never something integkit stored: key material and
# certificates (which are the secret), and source.
_KEY_MATERIAL = {".pem", ".key", ".crt", ".p12"}
_SOURCE = {".py"}


def _written_by_a_test(path: Path, data: bytes) -> bool:
    if path.suffix in _KEY_MATERIAL | _SOURCE or path.name == "token.key":
        return True
    return b"-----BEGIN " in data  # PEM key material, whatever the file is called


def _parquet_text(path: Path) -> bytes:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    metadata = b" ".join(v for v in (table.schema.metadata or {}).values())
    rows = json.dumps(table.to_pylist(), default=str).encode()
    return metadata + b"\n" + rows


def _contents(path: Path, data: bytes) -> Iterator[bytes]:
    """The file as stored, and what a reader of its format sees (uncompressed)."""
    yield data
    if path.suffix == ".parquet" or data[:4] == b"PAR1":
        try:
            yield _parquet_text(path)
        except Exception:  # noqa: BLE001 - a torn or partial file: its raw bytes were checked
            pass
    if data[:2] == b"\x1f\x8b":
        try:
            yield gzip.decompress(data)
        except (OSError, EOFError):
            pass


def _redis_values() -> Iterator[tuple[str, bytes]]:
    """Every key and value left in the test Redis database (skipped when unreachable)."""
    try:
        import redis

        from tests._redis import REDIS_URL

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
    except Exception:  # noqa: BLE001 - no Redis in this run: nothing stored there
        return
    readers = {
        b"string": lambda k: [client.get(k) or b""],
        b"hash": lambda k: [x for kv in client.hgetall(k).items() for x in kv],
        b"list": lambda k: client.lrange(k, 0, -1),
        b"set": lambda k: list(client.smembers(k)),
        b"zset": lambda k: [m for m, _ in client.zrange(k, 0, -1, withscores=True)],
        b"stream": lambda k: [json.dumps(e, default=str).encode() for e in client.xrange(k)],
    }
    for key in client.scan_iter(count=500):
        kind = client.type(key)
        values = readers.get(kind, lambda k: [])(key)
        yield key.decode(errors="replace"), key + b"\n" + b"\n".join(
            v if isinstance(v, bytes) else str(v).encode() for v in values)


def test_no_secret_in_files_or_logs_left_by_the_run(tmp_path_factory, run_log: Path) -> None:
    root = tmp_path_factory.getbasetemp()
    secrets = sorted({s for s in _secrets if len(s) >= 12})
    assert secrets, "the run registered no secret: nothing was checked"
    needles = [(s, s.encode()) for s in secrets]
    leaks = []
    scanned: dict[str, int] = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if _written_by_a_test(path, data):
            continue
        scanned[path.suffix or path.name] = scanned.get(path.suffix or path.name, 0) + 1
        for content in _contents(path, data):
            leaks += [(str(path.relative_to(root)), s[:4] + "...") for s, b in needles
                      if b in content]
    log = run_log.read_text(errors="replace")
    leaks += [("run log", s[:4] + "...") for s in secrets if s in log]
    for key, content in _redis_values():
        leaks += [(f"redis {key}", s[:4] + "...") for s, b in needles if b in content]
    assert sum(scanned.values()) > 10, scanned
    assert not leaks, sorted(set(leaks))


def test_the_sweep_reads_through_compressed_formats(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    secret = "sk_test_SweepSelfCheck0123456789"
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"note": [f"echoed {secret}"] * 50}), path, compression="zstd")
    packed = tmp_path / "log.gz"
    packed.write_bytes(gzip.compress(f"line {secret}\n".encode() * 20))
    for target in (path, packed):
        data = target.read_bytes()
        assert any(secret.encode() in c for c in _contents(target, data)), target.name
        target.unlink()  # this check's own files are not the run's
