"""A checkpoint folder belongs to whoever started the listing: resumed with another caller's
credentials (or for another account), it refuses instead of mixing their pages with yours."""

from __future__ import annotations

import pytest

import integkit as ik


def _partial(conn, folder) -> int:
    result = conn.list("charges", checkpoint=str(folder), limit=10)
    pages = result.pages()
    next(pages)  # one page committed, then the run "dies"
    pages.close()
    return result.stats.records


def test_another_callers_key_cannot_resume_a_checkpoint(tmp_path) -> None:
    with ik.sandbox("stripe", records=60) as sb:
        sb.emulator.add_api_key("sk_test_sandbox_someone_else_entirely_0001")
        mine = sb.connect(cache=False)
        theirs = sb.connect(api_key="sk_test_sandbox_someone_else_entirely_0001", cache=False)
        assert _partial(mine, tmp_path / "cp") == 10
        with pytest.raises(ik.CheckpointError, match="another caller"):
            theirs.list("charges", checkpoint=str(tmp_path / "cp"), limit=10).to_frame()
        again = mine.list("charges", checkpoint=str(tmp_path / "cp"), limit=10)
        frame = again.to_frame()  # the owner resumes where the run stopped
        assert len(frame) == 60 and frame["id"].is_unique and again.stats.calls == 5


def test_another_account_cannot_resume_a_checkpoint(tmp_path) -> None:
    with ik.sandbox("stripe", records=30) as sb:
        platform = sb.connect(cache=False)
        connected = sb.connect(cache=False, headers={"Stripe-Account": "acct_1OtherAccount00"})
        _partial(platform, tmp_path / "cp")
        with pytest.raises(ik.CheckpointError):
            connected.list("charges", checkpoint=str(tmp_path / "cp"), limit=10).to_frame()
