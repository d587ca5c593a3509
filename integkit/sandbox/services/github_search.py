"""GitHub's search query syntax, the part the emulator answers: qualifiers and free words.

``repo:octo-org/atlas is:issue is:open label:bug "rate limiter" created:>=2024-01-01`` reads
as qualifiers (each a list of values, ``-label:x`` negated) and words matched against the title
and body (issues) or the path and content (code). Unknown qualifiers are kept and ignored, as
GitHub treats them as words it finds nothing for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .github_data import Issue, Repo, SourceFile, parse_time

__all__ = ["Query", "parse_query"]

_TOKEN = re.compile(r'(-?)(?:([a-zA-Z_-]+):)?(?:"([^"]*)"|(\S+))')


@dataclass
class Query:
    """A parsed search query."""

    words: list[str] = field(default_factory=list)
    qualifiers: dict[str, list[str]] = field(default_factory=dict)
    negated: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> list[str]:
        return self.qualifiers.get(name, [])

    def repo_names(self) -> list[str]:
        return [v.lower() for v in self.get("repo")]

    def owners(self) -> list[str]:
        return [v.lower() for v in (*self.get("org"), *self.get("user"))]

    def wants_repo(self, repo: Repo) -> bool:
        names, owners = self.repo_names(), self.owners()
        if names and repo.full_name.lower() not in names:
            return False
        return not owners or repo.owner.lower() in owners

    def _text_hits(self, text: str) -> int:
        lowered = text.lower()
        return sum(1 for w in self.words if w.lower() in lowered)

    def match_issue(self, issue: Issue) -> float | None:
        """The search score of ``issue``, or None when it does not match."""
        kinds = {v.lower() for v in (*self.get("is"), *self.get("type"))}
        if ("issue" in kinds and issue.is_pull) or (kinds & {"pr", "pull-request"}
                                                     and not issue.is_pull):
            return None
        states = {v.lower() for v in (*self.get("state"), *self.get("is"))} & {
            "open", "closed", "merged", "unmerged"}
        if "open" in states and issue.state != "open":
            return None
        if "closed" in states and issue.state != "closed":
            return None
        if "merged" in states and issue.merged_at is None:
            return None
        labels = {label.lower() for label in issue.labels}
        if any(v.lower() not in labels for v in self.get("label")):
            return None
        if any(v.lower() in labels for v in self.negated.get("label", [])):
            return None
        if "label" in [v.lower() for v in self.get("no")] and labels:
            return None
        for name, value in (("author", issue.user), ("assignee", issue.assignee)):
            wanted = self.get(name)
            if wanted and (value or "").lower() not in [w.lower() for w in wanted]:
                return None
        for name, stamp in (("created", issue.created), ("updated", issue.updated),
                            ("closed", issue.closed)):
            for expr in self.get(name):
                if stamp is None or not _date_matches(expr, stamp):
                    return None
        hits = self._text_hits(f"{issue.title}\n{issue.body}")
        if self.words and hits == 0:
            return None
        return 1.0 + hits

    def match_code(self, source: SourceFile, repo: Repo) -> float | None:
        """The search score of a file, or None when it does not match."""
        for lang in self.get("language"):
            if lang.lower() != repo.language.lower() and not (
                    lang.lower() == "markdown" and source.path.endswith(".md")):
                return None
        if any(not source.path.startswith(p.strip("/")) for p in self.get("path")):
            return None
        if any(not source.path.endswith("." + e.lstrip(".")) for e in self.get("extension")):
            return None
        if any(source.path.rsplit("/", 1)[-1] != f for f in self.get("filename")):
            return None
        hits = self._text_hits(f"{source.path}\n{source.text}")
        if self.words and hits < len(self.words):
            return None
        return 1.0 + hits


def parse_query(q: str) -> Query:
    """Split a search query into qualifiers and words."""
    query = Query()
    for neg, name, quoted, bare in _TOKEN.findall(q):
        value = quoted if quoted else bare
        if name:
            target = query.negated if neg else query.qualifiers
            target.setdefault(name.lower(), []).append(value)
        elif value and value.upper() not in ("AND", "OR", "NOT"):
            query.words.append(value)
    return query


def _date_matches(expr: str, stamp: float) -> bool:
    """GitHub's date qualifiers: ``>=2024-01-01``, ``<2024-02-01``, ``2024-01-01..2024-02-01``."""
    try:
        if ".." in expr:
            lo, _, hi = expr.partition("..")
            return (lo in ("", "*") or stamp >= parse_time(lo)) and (
                hi in ("", "*") or stamp < parse_time(hi) + (86_400 if len(hi) == 10 else 0))
        for op in (">=", "<=", ">", "<"):
            if expr.startswith(op):
                when = parse_time(expr[len(op):])
                return {">=": stamp >= when, "<=": stamp <= when, ">": stamp > when,
                        "<": stamp < when}[op]
        day = parse_time(expr)
        return day <= stamp < day + 86_400
    except ValueError:
        return False
