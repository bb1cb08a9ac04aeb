"""The Resource Groups Tagging API's GetResources as the stand-in answers it, the parts that need
no account: a request checked into a `TagQuery` (AWS's limits, its InvalidParameterException), the
pagination token, and the lagging index (`TagIndex`) that `/_tagging` turns on. The stand-in
(`sagemaker_standin.py`) reads its account into these and answers; see its comment for AWS's rules.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError

RESOURCES_PER_PAGE_DEFAULT, RESOURCES_PER_PAGE_MAX = 50, 100
TAGS_PER_PAGE_MIN, TAGS_PER_PAGE_MAX = 100, 500
TAG_FILTERS_MAX, TAG_VALUES_MAX, TYPE_FILTERS_MAX, ARN_LIST_MAX = 50, 20, 100, 100
TOKEN_SECONDS = 15 * 60  # PaginationTokenExpiredException: "valid for a maximum of 15 minutes"


def invalid(message: str):
    raise ResourceGroupsTaggingAPIError("InvalidParameterException", message)


Tags = tuple  # ((key, value), ...) in the resource's own order


def pairs(tags) -> Tags:
    return tuple((t["Key"], t.get("Value", "")) for t in tags or ())


class TagIndex:
    """Each resource's tags since when (stand-in clock), kept while the index lags behind: what
    GetResources answers `delay` seconds late. None for a resource gone."""

    def __init__(self, now: dict[str, tuple[str, Tags]]):
        self.history: dict[str, list[tuple[float, str, Tags | None]]] = {
            arn: [(float("-inf"), resource_type, tags)] for arn, (resource_type, tags) in now.items()}

    def observe(self, now: dict[str, tuple[str, Tags]], at: float):
        for arn, (resource_type, tags) in now.items():
            entries = self.history.setdefault(arn, [])
            if not entries or entries[-1][1:] != (resource_type, tags):
                entries.append((at, resource_type, tags))
        for arn, entries in self.history.items():
            if arn not in now and entries[-1][2] is not None:
                entries.append((at, entries[-1][1], None))

    def as_of(self, at: float) -> dict[str, tuple[str, Tags]]:
        found = {}
        for arn, entries in self.history.items():
            state = next((e for e in reversed(entries) if e[0] <= at), None)
            if state is not None and state[2] is not None:
                found[arn] = state[1:]
        return found


@dataclass(frozen=True)
class TagQuery:
    """A GetResources request, checked."""

    types: tuple  # ResourceTypeFilters
    filters: tuple  # ((key, frozenset of values, or None for any value), ...)
    arns: frozenset | None  # ResourceARNList
    per_page: int
    tags_per_page: int | None
    after: str  # the last ARN the previous page gave ("": from the start)

    def digest(self) -> str:
        """What a token is bound to: the same filters on every page."""
        shape = [sorted(self.types), [[k, sorted(v) if v is not None else None] for k, v in self.filters]]
        return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]

    def keeps(self, arn: str, tags: list) -> bool:
        """Whether the resource `arn`, holding `tags` ([{"Key", "Value"}]), is on this or a later page."""
        if not tags or arn <= self.after:
            return False  # GetResources leaves untagged resources out
        if self.arns is not None:
            return arn in self.arns
        for key, values in self.filters:
            for tag in tags:
                if tag["Key"] == key and (values is None or tag.get("Value", "") in values):
                    break
            else:
                return False
        return True


def _count(payload: dict, name: str, low: int, high: int, default: int | None) -> int | None:
    value = payload.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        invalid(f"{name} must be between {low} and {high}")
    return value


def parse_query(payload: dict, now: float) -> TagQuery:
    types = payload.get("ResourceTypeFilters") or []
    if not isinstance(types, list) or len(types) > TYPE_FILTERS_MAX or \
            not all(isinstance(t, str) and 0 < len(t) <= 256 for t in types):
        invalid(f"ResourceTypeFilters must be a list of at most {TYPE_FILTERS_MAX} resource types (service[:type])")
    given = payload.get("TagFilters") or []
    if not isinstance(given, list) or len(given) > TAG_FILTERS_MAX:
        invalid(f"TagFilters must be a list of at most {TAG_FILTERS_MAX} tag filters")
    filters = []
    for tag_filter in given:
        key = tag_filter.get("Key") if isinstance(tag_filter, dict) else None
        values = tag_filter.get("Values") if isinstance(tag_filter, dict) else None
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            invalid("Each tag filter needs a Key of 1 to 128 characters")
        if values is not None and (not isinstance(values, list) or len(values) > TAG_VALUES_MAX or
                                   not all(isinstance(v, str) and len(v) <= 256 for v in values)):
            invalid(f"A tag filter's Values must be a list of at most {TAG_VALUES_MAX} values")
        filters.append((key, frozenset(values) if values else None))
    arns = payload.get("ResourceARNList")
    paging = [name for name in ("ResourcesPerPage", "TagsPerPage", "PaginationToken") if payload.get(name)]
    if arns is not None:
        if types or given or paging:
            invalid("ResourceARNList cannot be combined with TagFilters, ResourceTypeFilters, ResourcesPerPage, "
                     "TagsPerPage or PaginationToken")
        if not isinstance(arns, list) or not 1 <= len(arns) <= ARN_LIST_MAX or not all(isinstance(a, str) for a in arns):
            invalid(f"ResourceARNList must hold 1 to {ARN_LIST_MAX} ARNs")
    query = TagQuery(tuple(types), tuple(filters), frozenset(arns) if arns is not None else None,
                     _count(payload, "ResourcesPerPage", 1, RESOURCES_PER_PAGE_MAX, RESOURCES_PER_PAGE_DEFAULT),
                     _count(payload, "TagsPerPage", TAGS_PER_PAGE_MIN, TAGS_PER_PAGE_MAX, None), "")
    token = payload.get("PaginationToken") or ""
    if not token:
        return query
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        after, digest, issued = str(state["after"]), str(state["query"]), float(state["issued"])
    except (ValueError, KeyError, TypeError):
        invalid("The PaginationToken is not valid")
    if digest != query.digest():
        invalid("The PaginationToken was given for other filters")
    if now - issued > TOKEN_SECONDS:
        raise ResourceGroupsTaggingAPIError("PaginationTokenExpiredException", "The PaginationToken has expired")
    return TagQuery(query.types, query.filters, query.arns, query.per_page, query.tags_per_page, after)


def token(query: TagQuery, last_arn: str, now: float) -> str:
    """The PaginationToken of the page that ended at `last_arn`."""
    state = {"after": last_arn, "query": query.digest(), "issued": now}
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
