"""ik.gather: independent listings (a repository's issues, for several repositories) read
concurrently as one Result: every record once, in the order the listings were given."""

from __future__ import annotations

import pytest

import integkit as ik


@pytest.fixture(scope="module")
def gh():
    with ik.sandbox("github") as sb:
        yield sb.connect()


def test_issues_of_several_repositories_at_once(gh) -> None:
    repos = [r["full_name"] for r in gh.repositories().to_frame().to_dict("records")][:4]
    assert len(repos) >= 3
    one_by_one = [gh.issues(repo, state="all").to_frame() for repo in repos]
    gathered = ik.gather(*(gh.issues(repo, state="all") for repo in repos), parallel=3)
    frame = gathered.to_frame()
    expected = [i for f in one_by_one for i in f["id"]]
    assert list(frame["id"]) == expected and frame["id"].is_unique
    assert gathered.partitions == len(repos) and gathered.complete


def test_gather_refuses_what_it_cannot_combine(gh) -> None:
    read = gh.issues(gh.repositories().to_frame()["full_name"].iloc[0], state="all")
    read.head(1)
    with pytest.raises(ik.ConfigError, match="fresh, uncapped"):
        ik.gather(read)
    with pytest.raises(ik.ConfigError, match="at least one"):
        ik.gather()
