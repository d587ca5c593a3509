"""An id passed to ``retrieve()`` is one path segment, percent-encoded, in the generic engine and
in every connector that overrides it: ``"?limit=3"`` does not become a query that lists
everything, ``"#x"`` does not cut the path, ``".."`` does not climb to the listing.

The service is ``home`` (a recording server on 127.0.0.1): what it received is the proof.
"""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

import integkit as ik

TRICKY = ["?limit=3", "#x", "a b&c=d", "%2F..", "100%", "naïve", "{id}", "x;y"]
NOT_A_SEGMENT = ["..", ".", "", "a/b", "../../admin", "a\\b"]


paths: list[str] = []  # each request's path as the server decoded it from the wire


def answer(request: Request) -> JSONResponse:
    paths.append(request.scope["path"])
    return JSONResponse({"id": "obj_1", "object": "thing"})


@pytest.fixture
def service(home):
    home.route("*", answer)
    return home


def connections(base: str) -> dict[str, tuple[ik.Connection, dict, str]]:
    """Each connector, its retrieve arguments, and the path prefix its ids go under."""
    common = {"rate_limit": False, "cache": False, "retry": {"maxAttempts": 1}}
    return {
        "rest": (ik.rest(base, **common), {"resource": "/v1/things"}, "/v1/things/"),
        "stripe": (ik.connect("stripe", api_key="sk_test_SegmentTest000000000", base_url=base,
                              **common), {"resource": "customers"}, "/v1/customers/"),
        "github": (ik.connect("github", token="ghp_SegmentTest0000000000000", base_url=base,
                              **common),
                   {"resource": "issues", "repo": "octo-org/atlas"},
                   "/repos/octo-org/atlas/issues/"),
        "shopify": (ik.connect("shopify", access_token="shpat_SegmentTest00000000",
                               base_url=base, **common),
                    {"resource": "products"}, "/admin/api/2024-10/products/"),
        "salesforce": (ik.connect("salesforce", access_token="00D_SegmentTest0000000000",
                                  instance_url=base, base_url=base, **common),
                       {"resource": "Account"}, "/services/data/"),
    }


@pytest.mark.parametrize("connector", ["rest", "stripe", "github", "shopify", "salesforce"])
def test_a_tricky_id_reaches_the_server_as_one_path_segment(service, connector):
    conn, args, prefix = connections(service.url)[connector]
    resource = args.pop("resource")
    for id_ in TRICKY:
        service.reset()
        service.route("*", answer)
        paths.clear()
        conn.retrieve(resource, id_, **args)
        (seen,), (path,) = service.seen, paths
        assert seen.query == "", (connector, id_, seen.query)  # nothing became a query
        assert path.startswith(prefix), (connector, id_, path)
        assert path.removesuffix(".json").endswith("/" + id_), (connector, id_, path)


@pytest.mark.parametrize("connector", ["rest", "stripe", "github", "shopify", "salesforce"])
def test_an_id_that_is_no_single_segment_is_refused_before_any_call(service, connector):
    conn, args, _ = connections(service.url)[connector]
    resource = args.pop("resource")
    for id_ in NOT_A_SEGMENT:
        with pytest.raises(ik.InvalidRequestError, match="is not a valid"):
            conn.retrieve(resource, id_, **args)
    assert service.seen == []


def test_github_repository_names_cannot_climb_out_of_the_repository(service):
    conn, _, _ = connections(service.url)["github"]
    for repo in ("octo-org/..", "../octo-org", "octo-org/atlas/../../x"):
        with pytest.raises((ik.InvalidRequestError, ik.ConfigError)):
            conn.retrieve("issues", 7, repo=repo)
    assert service.seen == []
