"""Routing headers the signature does not cover, checked against the signed body.

GitHub signs the body only, yet routes by ``X-GitHub-Event``; Shopify signs the body only,
yet routes by ``X-Shopify-Topic``. Whoever replays a genuine signed body can put any event or
topic on it: a ``push`` body claimed as ``release``, an ``orders/create`` body as
``orders/cancelled``. The body says what it is, though, wherever its shape tells:

    github   the top-level keys each event type carries (``comment`` + ``issue`` is an
             issue_comment, ``ref`` + ``ref_type`` + ``master_branch`` a create...), most
             specific first; a body that matches no known shape (an event type integkit does
             not know) is let through
    shopify  the topic's resource against the GraphQL id the body carries
             (``orders/*`` needs ``gid://shopify/Order/...``); ``*/delete`` payloads carry no
             ``created_at``; ``orders/cancelled`` has a ``cancelled_at``, ``orders/fulfilled``
             a ``fulfillment_status`` of fulfilled

A claim the body contradicts is a SignatureError: the delivery was tampered with on the way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._errors import SignatureError

__all__ = ["check_claims", "claimed_route"]

# (keys the body must carry, event types it may then be), most specific first.
_GITHUB_SHAPES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(keys.split()), frozenset(events.split())) for keys, events in (
        ("zen", "ping"),
        ("hook hook_id action", "meta"),
        ("issue comment", "issue_comment"),
        ("pull_request review", "pull_request_review"),
        ("pull_request comment", "pull_request_review_comment"),
        ("pull_request thread", "pull_request_review_thread"),
        ("discussion comment", "discussion_comment"),
        ("discussion", "discussion"),
        ("issue", "issues"),
        ("pull_request number", "pull_request"),
        ("merge_group", "merge_group"),
        ("workflow_job", "workflow_job"),
        ("deployment_status", "deployment_status"),
        ("deployment_callback_url", "deployment_protection_rule"),
        ("workflow_run since", "deployment_review"),
        ("deployment", "deployment"),
        ("check_run", "check_run"),
        ("check_suite", "check_suite"),
        ("workflow_run", "workflow_run"),
        ("ref ref_type master_branch", "create"),
        ("ref ref_type", "delete"),
        ("ref before after", "push"),
        ("release", "release"),
        ("forkee", "fork"),
        ("starred_at", "star"),
        ("sha state context", "status"),
        ("pages", "gollum"),
        ("build", "page_build"),
        ("label", "label"),
        ("milestone", "milestone"),
        ("comment", "commit_comment"),
        ("alert", "code_scanning_alert dependabot_alert secret_scanning_alert "
                  "secret_scanning_alert_location repository_vulnerability_alert"),
        ("member team scope", "membership"),
        ("member", "member"),
        ("repositories_added repositories_removed", "installation_repositories"),
        ("security_advisory", "security_advisory"),
        ("repository_advisory", "repository_advisory"),
        ("sponsorship", "sponsorship"),
        ("marketplace_purchase", "marketplace_purchase"),
        ("client_payload", "repository_dispatch"),
        ("inputs workflow", "workflow_dispatch"),
        ("projects_v2_item", "projects_v2_item"),
        ("projects_v2", "projects_v2"),
        ("project_card", "project_card"),
        ("project_column", "project_column"),
        ("project", "project"),
        ("projects_v2_status_update", "projects_v2_status_update"),
        ("registry_package", "registry_package"),
        ("package", "package"),
        ("sub_issue_id", "sub_issues"),
        ("parent_issue_id", "sub_issues"),
        ("blocked_issue_id", "issue_dependencies"),
        ("blocking_issue_id", "issue_dependencies"),
        ("repository_ruleset", "repository_ruleset"),
        ("personal_access_token_request", "personal_access_token_request"),
        ("target_type account", "installation_target"),
        ("rule", "branch_protection_rule"),
        ("key", "deploy_key"),
    )
)

# Shopify topic resource -> the GraphQL type of its ids, where the name does not say it.
_SHOPIFY_TYPES = {
    "orders": "Order", "draft_orders": "DraftOrder", "products": "Product",
    "customers": "Customer", "collections": "Collection", "fulfillments": "Fulfillment",
    "fulfillment_orders": "FulfillmentOrder", "fulfillment_events": "FulfillmentEvent",
    "refunds": "Refund", "inventory_items": "InventoryItem",
    "inventory_levels": "InventoryLevel", "locations": "Location",
    "order_transactions": "OrderTransaction",
}
_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/")


def claimed_route(service: str, headers: Mapping[str, str]) -> str:
    """The routing claim a delivery makes outside its signed body ("" when none)."""
    if service == "github":
        return headers.get("x-github-event", "")
    if service == "shopify":
        return headers.get("x-shopify-topic", "")
    return ""


def _github(event: dict[str, Any], claimed: str) -> str | None:
    keys = set(event)
    for needed, events in _GITHUB_SHAPES:
        if needed <= keys:
            if claimed in events:
                return None
            return f"a {'/'.join(sorted(events))} event's"
    return None  # a shape integkit does not know: nothing to contradict the claim


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _shopify(event: dict[str, Any], claimed: str) -> str | None:
    resource, _, action = claimed.partition("/")
    match = _GID.match(str(event.get("admin_graphql_api_id") or ""))
    if match:
        kind = match.group(1)
        expected = _SHOPIFY_TYPES.get(resource)
        if expected is not None:
            fits = kind == expected
        else:  # a resource not in the table: its name must be part of the type's
            fits = any(_normal(form) in kind.lower()
                       for form in (resource, _singular(resource)) if form)
        if not fits:
            return f"a {kind} resource's"
    if action == "delete" and "created_at" in event:
        return "a whole resource (a delete carries only its id)"
    if claimed == "orders/cancelled" and "cancelled_at" in event and not event["cancelled_at"]:
        return "an order that is not cancelled"
    if claimed == "orders/fulfilled" and "fulfillment_status" in event and \
            event["fulfillment_status"] != "fulfilled":
        return "an order that is not fulfilled"
    return None


_HEADER = {"github": "X-GitHub-Event", "shopify": "X-Shopify-Topic"}


def check_claims(service: str, event: dict[str, Any] | bytes,
                 headers: Mapping[str, str]) -> None:
    """Raise SignatureError when the unsigned routing header contradicts the signed body (a
    raw body, no JSON object, has no shape to contradict it)."""
    claimed = claimed_route(service, headers)
    if not claimed or not isinstance(event, dict):
        return
    body_is = _github(event, claimed) if service == "github" else _shopify(event, claimed)
    if body_is is not None:
        raise SignatureError(
            f"{_HEADER[service]} says {claimed!r} but the signed body is {body_is}: the "
            f"header is not covered by the signature, so the delivery was altered on its way "
            f"(a replayed body under another {'event' if service == 'github' else 'topic'}). "
            "Refuse it; a genuine delivery's header always fits its body."
        )
