"""The READMEs run as written: every ```python and ```bash block of README.md and
notebooks/README.md, against the sandbox emulators over loopback HTTP.

The python blocks of one README run in order in one fresh interpreter (``sys.executable``), as
a reader runs them in a notebook one cell after another, with a private INTEGKIT_HOME and
``CI=true`` (nothing prompts). Nothing in them is changed but credentials and base URLs, all
listed in :data:`SUBSTITUTIONS` (text) and :data:`ENVIRONMENT` (``ik.stripe`` finds its key in
``STRIPE_SECRET_KEY`` and its base URL in a config-file profile, as the README says).
Each top-level expression's value is recorded, as a notebook would show it, for the asserts.

The bash blocks' commands run from a reader's checkout in ``tmp_path``: a copy of
``notebooks/`` (so no test rewrites the repository's notebooks), and links to this ``.venv``
and ``pyproject.toml``. Commands not run, and why (:data:`NOT_RUN`):

- ``python3 -m venv .venv`` and ``.venv/bin/pip install ...``: nothing is installed from inside
  a test; the fresh-machine CI run (``.ci/run``) runs exactly these;
- ``.venv/bin/python -m pytest``: the suite itself, this test included; instead the README's
  test command is asserted to be the one ``.ci/run`` runs;
- ``refresh_outputs.py`` with no argument (every notebook, minutes): the one-notebook form runs
  on the copy, and so does its nbval check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import pandas as pd
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import integkit as ik
from integkit.sandbox import Sandbox, SandboxServer

ROOT = Path(__file__).resolve().parents[2]
READMES = ("README.md", "notebooks/README.md")
VENV_BIN = Path(sys.executable).parent

#: The bearer token of the loopback REST API standing for https://api.example.com/v2.
REST_TOKEN = "orders-token-8f3a2c"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a README: its language, text and first line (1-based)."""

    file: str
    language: str
    line: int
    source: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def blocks(file: str, language: str | None = None) -> list[Block]:
    """The fenced blocks of ``file`` (relative to the repository), in order."""
    found: list[Block] = []
    fence: tuple[str, int, list[str]] | None = None
    for number, line in enumerate((ROOT / file).read_text().splitlines(), 1):
        if fence is None:
            opening = re.fullmatch(r"```(\w+)\s*", line)
            if opening:
                fence = (opening.group(1), number + 1, [])
            elif line.startswith("```"):
                fence = ("", number + 1, [])
        elif line.startswith("```"):
            lang, first, lines = fence
            found.append(Block(file, lang, first, "\n".join(lines) + "\n"))
            fence = None
        else:
            fence[2].append(line)
    assert fence is None, f"{file}: a code block opened on line {fence[1] - 1} never closes"
    return [b for b in found if language is None or b.language == language]


def commands(block: Block) -> list[str]:
    """The commands of a bash block, as written: continuations joined, runs of blanks made
    one, comments dropped, ``&&`` chains split."""
    text = re.sub(r"\\\n\s*", "", block.source)
    found: list[str] = []
    for line in text.splitlines():
        line = "" if line.startswith("#") else line.split(" #", 1)[0]
        found += [re.sub(r"\s+", " ", part).strip() for part in line.split("&&")]
    return [command for command in found if command]


def test_the_parser_reads_fences_and_commands() -> None:
    """The block parser finds every fence (of both READMEs: each has python or bash ones)."""
    for file in READMES:
        text = (ROOT / file).read_text()
        fences = sum(1 for line in text.splitlines() if line.startswith("```"))
        assert fences == 2 * len(blocks(file)), file
    assert [b.language for b in blocks("README.md")][:3] == ["python", "bash", "bash"]
    block = Block("x", "bash", 1, 'a -p x \\\n    -p y  # note\n# only a comment\nb && c "d e"\n')
    assert commands(block) == ["a -p x -p y", "b", 'c "d e"']


# -- substitutions: credentials and base URLs, nothing else -------------------------------------
#: Every change made to a README's python text before it runs: README text -> what runs
#: instead, ``$name`` filled in from :func:`stand_ins`. Nothing else in the text changes.
SUBSTITUTIONS = {
    'api_key="sk_test_..."': 'api_key="$stripe_key"',
    '"https://api.example.com/v2"': '"$rest_url"',
    "ik.auth.Bearer(token)": 'ik.auth.Bearer("$rest_token")',
}
#: The credentials and base URLs of a reader's environment, as the README says integkit reads
#: them: env vars, and a config file whose profile holds Stripe's base URL.
ENVIRONMENT = {
    "STRIPE_SECRET_KEY": "$stripe_key",
    "INTEGKIT_CONFIG": "$config_file",
    "SALESFORCE_CLIENT_ID": "$salesforce_client_id",
    "SALESFORCE_CLIENT_SECRET": "$salesforce_client_secret",
    "SALESFORCE_REFRESH_TOKEN": "$salesforce_refresh_token",
    "SALESFORCE_LOGIN_URL": "$salesforce_url",
}
CONFIG_FILE = """\
profiles:
  default:
    stripe: {base_url: "$stripe_url"}
"""


@dataclass(frozen=True)
class Services:
    """What the substitutions point at: the emulators and the loopback REST API."""

    stripe: Sandbox
    salesforce: Sandbox
    rest: SandboxServer


def stand_ins(services: Services, home: Path) -> dict[str, str]:
    """The values of the ``$names`` in the tables above; writes the config file."""
    sf = services.salesforce.credentials
    config = home / "config.yaml"
    values = {
        "stripe_key": services.stripe.api_key, "stripe_url": services.stripe.url,
        "rest_url": f"{services.rest.url}/v2", "rest_token": REST_TOKEN,
        "config_file": str(config), "salesforce_url": services.salesforce.url,
        "salesforce_client_id": sf["client_id"], "salesforce_client_secret": sf["client_secret"],
        "salesforce_refresh_token": sf["refresh_token"],
    }
    config.write_text(Template(CONFIG_FILE).substitute(values))
    return values


def base_env(home: Path) -> dict[str, str]:
    """A reader's environment: this venv first on PATH, a private data dir, ``CI=true``, and
    no credential or setting from the environment of this run (a moved clock stays moved:
    ``INTEGKIT_TEST_*`` and PYTHONPATH, made absolute, pass on; see tests/timeshift)."""
    drop = ("INTEGKIT_", "STRIPE_", "GITHUB_", "SALESFORCE_", "SHOPIFY_", "SLACK_", "PYTEST_")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(drop) or k.startswith("INTEGKIT_TEST_")}
    env.update({"CI": "true", "INTEGKIT_HOME": str(home / "integkit"),
                "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"})
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(entry).resolve()) for entry in env["PYTHONPATH"].split(os.pathsep) if entry)
    return env


# -- the loopback REST API of the ik.rest block -------------------------------------------------
ORDERS = [{"id": n, "status": "open" if n % 3 else "shipped", "total": round(n * 7.25, 2),
           "customer": {"name": f"customer {n % 11}"}} for n in range(1, 91)]
PAGE = 25
#: (Authorization, status) of each request the REST API answered.
seen: list[tuple[str | None, str | None]] = []


async def orders(request: Request) -> Response:
    """``GET /v2/orders?status=&cursor=``: 25 records a page, the next cursor in ``meta.next``."""
    seen.append((request.headers.get("authorization"), request.query_params.get("status")))
    if request.headers.get("authorization") != f"Bearer {REST_TOKEN}":
        return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
    rows = [o for o in ORDERS if o["status"] == request.query_params.get("status", o["status"])]
    start = int(request.query_params.get("cursor", "c0")[1:])
    end = start + PAGE
    return JSONResponse({"data": rows[start:end],
                         "meta": {"next": f"c{end}" if end < len(rows) else None}})


REST_APP = Starlette(routes=[Route("/v2/orders", orders)])


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    with ik.sandbox("stripe") as stripe, ik.sandbox("salesforce") as salesforce, \
            SandboxServer(REST_APP) as rest:
        yield Services(stripe, salesforce, rest)


# -- the python blocks, one interpreter per README ----------------------------------------------
RUNNER = textwrap.dedent('''\
    """Runs a README's python blocks in one namespace, statement by statement, and records the
    value of each top-level expression (what a notebook would show) in a JSON report."""
    import ast, json, sys

    blocks, report_path = json.load(sys.stdin), sys.argv[1]  # stdin is at its end from here
    namespace = {"__name__": "__main__"}
    shown = []

    def describe(value):
        import pandas as pd
        rows = len(value) if isinstance(value, (pd.DataFrame, list, dict)) else None
        columns = list(value.columns) if isinstance(value, pd.DataFrame) else None
        return {"type": type(value).__name__, "rows": rows, "columns": columns,
                "text": str(value)[:4000]}

    for block in blocks:
        print(f"--- {block['where']}", flush=True)
        tree = ast.parse("\\n" * (block["line"] - 1) + block["source"], block["file"])
        for node in tree.body:
            if isinstance(node, ast.Expr):
                code = compile(ast.Expression(node.value), block["file"], "eval")
                value = eval(code, namespace)
                shown.append({"where": f"{block['name']}:{node.lineno}",
                              "expr": ast.unparse(node), **describe(value)})
            else:
                exec(compile(ast.Module([node], []), block["file"], "exec"), namespace)
        frames = {name: len(value) for name, value in namespace.items()
                  if type(value).__name__ == "DataFrame"}
        from integkit import Result
        results = {name: str(value.stats) for name, value in namespace.items()
                   if isinstance(value, Result)}
        shown.append({"where": block["where"], "expr": None, "frames": frames,
                      "results": results})
    json.dump(shown, open(report_path, "w"))
    ''')


@dataclass(frozen=True)
class Run:
    """A finished run of a README's python blocks: its output and the values it showed."""

    stdout: str
    shown: list[dict[str, Any]]

    def value(self, expr: str) -> dict[str, Any]:
        """What the (only) top-level expression ``expr`` showed."""
        found = [s for s in self.shown if s["expr"] == expr]
        assert len(found) == 1, f"{expr!r} shown {len(found)} times"
        return found[0]

    def values(self, expr: str) -> list[dict[str, Any]]:
        """What the top-level expression ``expr`` showed, each time it ran."""
        found = [s for s in self.shown if s["expr"] == expr]
        assert found, f"{expr!r} never shown"
        return found

    def after(self, text: str) -> list[dict[str, Any]]:
        """The namespace after each run of the block holding ``text``: ``frames`` (name ->
        rows of each DataFrame) and ``results`` (name -> stats of each Result)."""
        found = [s for s in self.shown if s["expr"] is None and text in s["source"]]
        assert found, f"no block holds {text!r}"
        return found


def run_python_blocks(file: str, services: Services, tmp_path: Path,
                      again: str | None = None) -> Run:
    """Every python block of ``file``, substituted, in order in one fresh interpreter; the
    block holding ``again`` runs a second time right after itself (a cell run again)."""
    values = stand_ins(services, tmp_path)
    env = base_env(tmp_path)
    env.update({name: Template(value).substitute(values) for name, value in ENVIRONMENT.items()})
    used = dict.fromkeys(SUBSTITUTIONS, 0)
    payload = []
    for block in blocks(file, "python"):
        source = block.source
        for old, new in SUBSTITUTIONS.items():
            used[old] += source.count(old)
            source = source.replace(old, Template(new).substitute(values))
        entry = {"file": str(ROOT / file), "name": file, "where": block.where,
                 "line": block.line, "source": source}
        payload += [entry, entry] if again is not None and again in block.source else [entry]
    assert all(used.values()), f"substitutions that match nothing in {file}: {used}"
    assert again is None or len(payload) > len(blocks(file, "python")), again
    (tmp_path / "runner.py").write_text(RUNNER)
    done = subprocess.run(  # the blocks go on stdin: no file holds the substituted keys
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "shown.json")],
        input=json.dumps(payload), cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=110)
    assert done.returncode == 0, f"{file}'s blocks failed:\n{done.stdout}\n{done.stderr}"
    shown = json.loads((tmp_path / "shown.json").read_text())
    sources = {b["where"]: b["source"] for b in payload}
    for entry in shown:
        if entry["expr"] is None:
            entry["source"] = sources[entry["where"]]
    return Run(done.stdout, shown)


@pytest.mark.timeout(150)
def test_readme_python_blocks_run_in_order(services: Services, tmp_path: Path) -> None:
    """README.md's python blocks, one after another; the limits block twice, as its comment
    says a re-run within the hour reads Parquet."""
    seen.clear()
    run = run_python_blocks("README.md", services, tmp_path, again='cache="1h"')

    # The one-liner at the top: ik.stripe, its key from STRIPE_SECRET_KEY.
    assert run.after('ik.stripe.list("charges"')[0]["frames"]["df"] > 0
    # Quickstart: the first half of 2024 has charges (the sandbox seeds the two years before
    # its clock's 2025-07-01), the retrieve and the writes use ids the frame and intent gave.
    assert run.value("charges.head(5)")["rows"] == 5
    quickstart = run.after('created={"gte": "2024-01-01", "lt": "2024-07-01"}')[0]
    assert quickstart["frames"]["df"] > 5
    assert " calls (" in run.value("charges.stats")["text"]
    assert "'object': 'customer'" in run.value(
        "stripe.retrieve('customers', df['customer.id'].dropna().iloc[0])")["text"]
    refund = run.value("stripe.create_refund(payment_intent=intent['id'], amount=500)")
    assert "'amount': 500" in refund["text"] and "'status': 'succeeded'" in refund["text"]
    emulator: Any = services.stripe.emulator
    (intent,) = emulator.table("payment_intents").added
    assert intent["metadata"] == {"order": "42"} and intent["status"] == "succeeded"
    assert intent["payment_method_types"] == ["card"]
    (made,) = emulator.table("refunds").added
    assert made["amount"] == 500 and made["payment_intent"] == intent["id"]
    # The emulator block: every charge, through the 5xx burst.
    assert run.after("sb.faults.fail(503, times=3)")[0]["frames"]["df"] == 5_000

    # Limits, usage, costs: the second run of the cell reads the cached Parquet, no call.
    first, second = run.after('cache="1h"')
    assert first["frames"]["df"] == second["frames"]["df"] > 1_000
    assert ", 0 calls" not in first["results"]["charges"]
    assert ", 0 calls" in second["results"]["charges"]
    assert "1 cache hits" in second["results"]["charges"]
    quotas = run.values("ik.quota('stripe')")
    assert all("'limit': 25" in s["text"] for s in quotas), [s["text"] for s in quotas]
    usage = run.values("ik.usage()")
    assert usage[0]["rows"] > 0 and usage[1]["rows"] == usage[0]["rows"]
    bill = run.values("ik.costs()")[0]
    assert bill["rows"] >= 1 and "stripe" in bill["text"] and "standard" in bill["text"]
    assert all("offline=False" in s["text"] for s in run.values("ik.configure(offline=False)"))

    # ik.rest: every open order, over the pages meta.next chains, with the bearer token.
    assert run.after("ik.rest(")[0]["frames"]["orders"] == sum(
        o["status"] == "open" for o in ORDERS)
    assert len(seen) == 3 and all(s == ("Bearer " + REST_TOKEN, "open") for s in seen)

    # In a notebook (headless here): the login finds the credential set, the dashboard
    # falls back to text, the connection shows its repr.
    login = run.value("ik.login('salesforce')")
    assert login["type"] == "LoginFound" and "SALESFORCE_REFRESH_TOKEN" in login["text"]
    dashboard = run.value("ik.dashboard()")
    assert dashboard["type"] == "TextDashboard" and "stripe:" in dashboard["text"]
    assert run.value("stripe")["text"].startswith("<StripeConnection stripe http://127.0.0.1")
    key = services.stripe.api_key
    assert key not in run.stdout and all(key not in s.get("text", "") for s in run.shown)


def test_notebooks_readme_has_no_python_block() -> None:
    """notebooks/README.md's blocks are commands (run below); a python block added there
    must be run here too."""
    assert [b.language for b in blocks("notebooks/README.md")] == ["bash"] * 2


# -- the bash blocks ----------------------------------------------------------------------------
_INSTALL = "installs: nothing is installed from a test; .ci/run does it on a fresh machine"
#: The commands of the bash blocks that do not run here, and why.
NOT_RUN = {
    "python3 -m venv .venv": _INSTALL,
    '.venv/bin/pip install -q -e ".[sandbox]"': _INSTALL,
    '.venv/bin/pip install -q -e ".[dev]"': _INSTALL,
    ".venv/bin/python -m pytest": "the suite, this test included: compared with .ci/run below",
    ".venv/bin/python notebooks/refresh_outputs.py":
        "every notebook (minutes): the one-notebook form runs, on a copy",
}
#: The commands that run, each with the test that runs it.
RUN = {
    ".venv/bin/integkit demo": "test_demo",
    ".venv/bin/papermill notebooks/scheduled_report.ipynb out.ipynb -p start_date 2025-06-01 "
    "-p output_path report/": "test_papermill",
    "papermill notebooks/scheduled_report.ipynb run.ipynb -p start_date 2025-06-01 "
    "-p end_date 2025-06-08 -p output_path reports -p records 20000": "test_papermill",
    ".venv/bin/python notebooks/refresh_outputs.py 02_github.ipynb": "test_refresh",
    ".venv/bin/python -m pytest notebooks/02_github.ipynb": "test_refresh",
}


def bash_commands() -> list[str]:
    return [c for file in READMES for b in blocks(file, "bash") for c in commands(b)]


def test_every_command_runs_or_says_why_not() -> None:
    assert set(bash_commands()) == {*NOT_RUN, *RUN}
    assert not set(NOT_RUN) & set(RUN)


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """The test-suite block is, to the byte, the last command of .ci/run."""
    suite = [b for b in blocks("README.md", "bash") if "-m pytest" in b.source]
    assert len(suite) == 1
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == suite[0].source.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A reader's checkout: a copy of notebooks/, this venv as .venv, pyproject.toml linked."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the commands name .venv/bin/...: run the suite from a venv, as README says")
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    (root / "pyproject.toml").symlink_to(ROOT / "pyproject.toml")
    return root


def run_command(command: str, checkout: Path, timeout: float = 100) -> str:
    """``command`` as written, in bash, from ``checkout``; its output (it must succeed)."""
    assert RUN.get(command), f"{command!r} is not a README command this test runs"
    home = checkout.parent / "home"
    home.mkdir(exist_ok=True)
    done = subprocess.run(["bash", "-c", command], cwd=checkout, env=base_env(home),
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_demo(checkout: Path) -> None:
    out = run_command(".venv/bin/integkit demo", checkout)
    assert "Pulled 20,000 charges into a DataFrame" in out
    assert "Succeeded volume by currency" in out and "Stats: 20,000 records in " in out


def _report(folder: Path) -> pd.DataFrame:
    frame = pd.read_parquet(folder / "charges.parquet")
    assert (folder / "summary.html").read_text().startswith("<!doctype html>")
    return frame


@pytest.mark.timeout(150)
def test_papermill(checkout: Path) -> None:
    """The scheduled report, from each README: the notebook run and the files it writes."""
    first, second = [c for c, test in RUN.items() if test == "test_papermill"]
    run_command(first, checkout)
    june = _report(checkout / "report")
    assert len(june) > 0 and (checkout / "out.ipynb").exists()
    assert june["created"].min() >= pd.Timestamp("2025-06-01", tz="UTC")
    assert june["created"].max() < pd.Timestamp("2025-07-01", tz="UTC")
    run_command(second, checkout)
    week = _report(checkout / "reports")
    assert len(week) > 0 and (checkout / "run.ipynb").exists()
    assert week["created"].min() >= pd.Timestamp("2025-06-01", tz="UTC")
    assert week["created"].max() < pd.Timestamp("2025-06-08", tz="UTC")


def _sanitized(notebook: Path) -> list[Any]:
    """The code cells of ``notebook`` (source, count, outputs) with what
    nbval_sanitize.cfg masks masked, as nbval compares them."""
    import configparser

    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "notebooks" / "nbval_sanitize.cfg")
    rules = [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]
    cells = []
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = json.dumps(cell["outputs"], sort_keys=True)
        for rule, replace in rules:
            text = rule.sub(replace, text)
        cells.append(("".join(cell["source"]), cell["execution_count"], text))
    return cells


@pytest.mark.timeout(150)
def test_refresh(checkout: Path) -> None:
    """One notebook refreshed on the copy, then its nbval check, twice ("passes,
    repeatedly"); the refresh changed nothing but what the sanitize file masks."""
    refresh, check = [c for c, test in RUN.items() if test == "test_refresh"]
    run_command(refresh, checkout)
    copy = checkout / "notebooks" / "02_github.ipynb"
    assert _sanitized(copy) == _sanitized(ROOT / "notebooks" / "02_github.ipynb")
    for _ in range(2):
        assert " passed" in run_command(check, checkout)
