"""`cityos serve`'s limits: request sizes, query complexity, quotas and rate limits
(docs/security.md, "Limits"). Each option reads CITYOS_<OPTION>, as every serve option does."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import typer

from cityos.api.http import Settings
from cityos.api.ratelimit import RateLimit
from cityos.context.jsonld import ContextLimits
from cityos.context.query import MAX_DEPTH_CEILING, QueryLimits

DEFAULTS = Settings()


def _option(name: str, text: str, low: float = 1, high: float | None = None) -> Any:
    """A serve option reading CITYOS_<NAME>, with its bounds."""
    envvar = "CITYOS_" + name.lstrip("-").upper().replace("-", "_")
    return typer.Option(name, envvar=envvar, min=low, max=high, help=text)


MaxBodyOption = Annotated[int, _option("--max-body-bytes", "Largest request body, in bytes (413).")]
MaxPageOption = Annotated[
    int, _option("--max-page-size", "Largest `limit` a query may ask for (TooManyResults, 403).")
]
MaxBatchOption = Annotated[
    int, _option("--max-batch", "Most entities in one batch operation (BadRequestData, 400).")
]
MaxQueryLengthOption = Annotated[
    int, _option("--max-query-length", "Longest q or scopeQ, in characters (TooComplexQuery).")
]
MaxQueryDepthOption = Annotated[
    int,
    _option(
        "--max-query-depth",
        "Deepest nesting of parentheses in q or scopeQ (TooComplexQuery, 403).",
        high=MAX_DEPTH_CEILING,
    ),
]
MaxAttributesOption = Annotated[
    int, _option("--max-attributes", "Most attributes of one entity in a write (400).")
]
MaxSubscriptionsOption = Annotated[
    int, _option("--max-subscriptions", "Most subscriptions one tenant holds (403).")
]
MaxVerticesOption = Annotated[
    int,
    _option(
        "--max-geometry-vertices",
        "Most geometry positions one request body holds, counted as its JSON arrays before "
        "it is parsed (400).",
    ),
]
MaxContextEntriesOption = Annotated[
    int,
    _option(
        "--max-context-entries",
        "Most URLs and objects one @context resolves, stored contexts' imports included (400).",
    ),
]
MaxContextDepthOption = Annotated[
    int,
    _option("--max-context-depth", "Deepest nesting of lists and imports in one @context (400)."),
]

MaxQueryNamesOption = Annotated[
    int,
    _option(
        "--max-query-names",
        "Most names in one list parameter of a query, attrs or id (400).",
        high=500,  # each is a condition of one SQL expression, which SQLite caps at 1000 deep
    ),
]
MaxStreamsOption = Annotated[
    int,
    _option("--max-streams", "Most live streams (SSE) one instance serves at once (503)."),
]
HeadTimeoutOption = Annotated[
    float,
    _option(
        "--header-timeout",
        "Seconds a client has to send a request's line and headers before the connection "
        "is closed (slow clients).",
        low=0.1,
    ),
]
RateLimitOption = Annotated[
    float,
    _option(
        "--rate-limit",
        "Requests a second per API key or token (anonymous: per client address), per "
        "instance; 0: no limit (429 with Retry-After past it).",
        low=0,
    ),
]
RateBurstOption = Annotated[
    int, _option("--rate-burst", "Requests a caller may make at once within its rate limit.")
]


def with_limits(
    settings: Settings,
    *,
    max_body_bytes: int,
    max_page_size: int,
    max_batch: int,
    max_query_length: int,
    max_query_depth: int,
    max_attributes: int,
    max_subscriptions: int,
    max_geometry_vertices: int = DEFAULTS.max_geometry_vertices,
    max_context_entries: int = DEFAULTS.context_limits.max_entries,
    max_context_depth: int = DEFAULTS.context_limits.max_depth,
    max_query_names: int,
    max_streams: int,
    header_timeout: float,
    rate_limit: float,
    rate_burst: int,
) -> Settings:
    """`settings` with the limits of the command line."""
    if max_page_size < settings.default_limit:
        raise typer.BadParameter(
            f"at least the default page size, {settings.default_limit}",
            param_hint="--max-page-size",
        )
    return replace(
        settings,
        max_body_bytes=max_body_bytes,
        max_limit=max_page_size,
        max_batch=max_batch,
        query_limits=QueryLimits(max_query_length, max_query_depth),
        max_attributes=max_attributes,
        max_subscriptions=max_subscriptions,
        max_geometry_vertices=max_geometry_vertices,
        context_limits=ContextLimits(max_context_entries, max_context_depth),
        max_names=max_query_names,
        max_streams=max_streams,
        header_timeout_s=header_timeout,
        rate=RateLimit(rate_limit, rate_burst) if rate_limit > 0 else None,
    )
