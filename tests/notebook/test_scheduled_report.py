"""notebooks/scheduled_report.ipynb run as a scheduler would: papermill, non-default
parameters, a python3 kernel; its Parquet file and HTML summary checked against the sandbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import integkit as ik

papermill = pytest.importorskip("papermill")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "scheduled_report.ipynb"
RECORDS = 3_000


def _run(tmp_path: Path, **parameters: Any) -> Any:
    return papermill.execute_notebook(
        str(NOTEBOOK), str(tmp_path / "run.ipynb"), parameters=parameters,
        kernel_name="python3", cwd=str(tmp_path), progress_bar=False, log_output=False)


def test_report_for_a_date_range(tmp_path: Path) -> None:
    today = ik.sandbox.SANDBOX_NOW.date()  # the report's sandbox starts there
    start, end = today - dt.timedelta(days=20), today - dt.timedelta(days=6)
    out = tmp_path / "report"
    done = _run(tmp_path, start_date=start.isoformat(), end_date=end.isoformat(),
                output_path=str(out), records=RECORDS, plan="standard")

    table = pq.read_table(out / "charges.parquet")
    assert table.schema.names == ["id", "created", "amount", "amount_refunded", "currency",
                                  "status", "paid", "refunded", "customer"]
    assert table.schema.field("created").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("amount").type == pa.int64()
    frame = table.to_pandas()
    low = pd.Timestamp(start.isoformat(), tz="UTC")
    high = pd.Timestamp(end.isoformat(), tz="UTC")
    assert len(frame) > 0 and frame["id"].is_unique
    assert frame["created"].min() >= low and frame["created"].max() < high
    # Exactly the sandbox's charges of that range (the same seeded data, asked directly).
    with ik.sandbox("stripe", records=RECORDS) as sb:
        expected = sb.connect().list("charges", created={
            "gte": start.isoformat(), "lt": end.isoformat()}).to_frame()
    assert set(frame["id"]) == set(expected["id"])
    assert frame.set_index("id")["amount"].sort_index().tolist() == \
        expected.set_index("id")["amount"].sort_index().tolist()

    page = (out / "summary.html").read_text(encoding="utf-8")
    assert f"Stripe charges from {start} to {end} (excluded)" in page
    assert f"{len(frame):,} charges" in page
    for title in ("By currency", "By status", "By day", "API calls of this run",
                  "This month&#x27;s bill (standard)"):
        assert title in page, title
    for currency, count in frame["currency"].value_counts().items():
        assert f"<th>{currency}</th>\n      <td>{count}</td>" in page
    days = pd.date_range(start, end - dt.timedelta(days=1), freq="D").strftime("%Y-%m-%d")
    seen_days = set(frame["created"].dt.strftime("%Y-%m-%d"))
    assert seen_days <= set(days) and all(f"<th>{day}</th>" in page for day in seen_days)
    assert "charges.list" in page

    # Nothing noisy: no stderr, no warnings; stdout says what was done.
    streams = [o for cell in done.cells if cell.cell_type == "code" for o in cell.outputs
               if o.output_type == "stream"]
    assert all(o.name == "stdout" for o in streams), [o.text for o in streams]
    text = "".join(o.text for o in streams)
    assert f"{len(frame):,} charges" in text
    assert f"wrote {len(frame):,} rows to charges.parquet and summary.html in {out}" in text


def test_a_scheduled_run_against_the_real_account_never_prompts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    monkeypatch.setenv("INTEGKIT_HOME", str(tmp_path / "home"))  # no stored key either
    with pytest.raises(papermill.PapermillExecutionError) as failed:
        _run(tmp_path, sandbox=False, output_path=str(tmp_path / "report"))
    assert failed.value.ename == "ConfigError"
    assert "STRIPE_SECRET_KEY" in failed.value.evalue
    assert "ik.login('stripe')" in failed.value.evalue
