"""`/rules`: declarative rules, posted as YAML or JSON, with their firing statistics and
per-entity episodes; and the background service that runs the engine beside the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cityos.audit import record
from cityos.context.broker import iso_time
from cityos.context.errors import AlreadyExists, BadRequestData, InvalidRequest, ResourceNotFound
from cityos.context.jsonld import JSON, JSON_LD
from cityos.rules.engine import RuleEngine, RuleStatus
from cityos.rules.model import RULE_ID, Rule, compile_rules, load_documents, rule_documents

from .background import running
from .http import plain_json, read_bytes, services, tenant_of

RULES = "/rules"
YAML = ("application/yaml", "application/x-yaml", "text/yaml")
TICK_S = 1.0
"""How often held conditions are checked when no update arrives."""


def engine(request: Request) -> RuleEngine:
    found: RuleEngine = request.app.state.rules
    return found


def _rule_id(request: Request) -> str:
    rule_id: str = request.path_params["rule_id"]
    if RULE_ID.fullmatch(rule_id) is None:
        raise ResourceNotFound(f"No rule {rule_id!r}.")
    return rule_id


async def _rules_in(request: Request) -> list[Rule]:
    raw, media_type = await read_bytes(request, allowed=(*YAML, JSON, JSON_LD))
    if media_type in YAML:
        docs = load_documents(raw)
    else:
        try:
            docs = rule_documents(orjson.loads(raw))
        except orjson.JSONDecodeError as error:
            raise InvalidRequest(f"The body is not valid JSON: {error}.") from None
    return compile_rules(docs, services(request).contexts)


def _time(seconds: float | None) -> str | None:
    return iso_time(seconds) if seconds is not None else None


def _rendered(status: RuleStatus) -> dict[str, Any]:
    return {
        **status.rule.doc,
        "status": {
            "fired": status.fired,
            "lastFired": _time(status.last_fired),
            "activeEpisodes": status.active,
            "entities": status.entities,
            "createdAt": status.created_at,
            "modifiedAt": status.modified_at,
        },
    }


def _audit(request: Request, action: str, rule_id: str) -> None:
    record(services(request).broker.store.audit, action, tenant_of(request), rule_id)


async def create_rules(request: Request) -> Response:
    """One rule or `{rules: [...]}`; all are checked (and none exists) before any is kept."""
    rules = await _rules_in(request)
    tenant = tenant_of(request)
    found = engine(request)
    for rule in rules:
        if found.store.get_rule(tenant, rule.id) is not None:
            raise AlreadyExists(f"Rule {rule.id} already exists.")
    for rule in rules:
        found.put(tenant, rule)
        _audit(request, "rule.create", rule.id)
    await found.bus.settled()
    location = f"{RULES}/{rules[0].id}"
    return plain_json({"created": [rule.id for rule in rules]}, 201, {"Location": location})


def list_rules(request: Request) -> Response:
    return plain_json(
        [_rendered(status) for status in engine(request).statuses(tenant_of(request))]
    )


def retrieve_rule(request: Request) -> Response:
    rule_id = _rule_id(request)
    status = engine(request).status(tenant_of(request), rule_id)
    if status is None:
        raise ResourceNotFound(f"No rule {rule_id}.")
    return plain_json(_rendered(status))


async def replace_rule(request: Request) -> Response:
    """PUT: the rule anew, its states and counters reset; 201 when it did not exist."""
    rule_id = _rule_id(request)
    rules = await _rules_in(request)
    if len(rules) != 1:
        raise BadRequestData("PUT takes one rule.")
    if rules[0].id != rule_id:
        raise BadRequestData(f"id: the rule's id {rules[0].id!r} is not {rule_id!r} of the path.")
    created = engine(request).put(tenant_of(request), rules[0], replace=True)
    _audit(request, "rule.create" if created else "rule.update", rule_id)
    await engine(request).bus.settled()
    if created:
        return Response(status_code=201, headers={"Location": f"{RULES}/{rule_id}"})
    return Response(status_code=204)


async def delete_rule(request: Request) -> Response:
    rule_id = _rule_id(request)
    if not engine(request).delete(tenant_of(request), rule_id):
        raise ResourceNotFound(f"No rule {rule_id}.")
    _audit(request, "rule.delete", rule_id)
    await engine(request).bus.settled()
    return Response(status_code=204)


def rule_state(request: Request) -> Response:
    """Per entity: whether its condition holds (since when), its episodes, the last firing."""
    rule_id = _rule_id(request)
    states = engine(request).states(tenant_of(request), rule_id)
    if states is None:
        raise ResourceNotFound(f"No rule {rule_id}.")
    return plain_json(
        [
            {
                "entity": state.entity,
                "holding": state.since is not None,
                "holdingSince": _time(state.since),
                "armed": state.armed,
                "episode": state.episode,
                "firedAt": _time(state.fired_at),
            }
            for state in sorted(states, key=lambda s: s.entity)
        ]
    )


def load_rules_file(app: Starlette, path: Path, tenant: str = "") -> list[Rule]:
    """Check a YAML rules file now and have the engine serve its rules from start-up.

    A rule of the file that is stored unchanged keeps its episodes; a changed one is
    replaced (its episodes reset).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BadRequestData(f"{path}: {error.strerror}") from None
    rules = compile_rules(load_documents(text), app.state.services.contexts)
    app.state.rules_preload.extend((tenant, rule) for rule in rules)
    return rules


@asynccontextmanager
async def rules_service(app: Starlette) -> AsyncIterator[None]:
    """Run the engine beside the API: after the notifier (rules subscribe through it)."""
    found: RuleEngine = app.state.rules
    with found.running():
        for tenant, rule in app.state.rules_preload:
            found.put(tenant, rule, replace=True, keep_same=True)
        async with AsyncExitStack() as stack:
            if found.bus.distributed:  # evaluated once across instances, on the leader
                consuming = found.bus.consume("rules", found.take, leader_only=True)
                await stack.enter_async_context(consuming)
            async with running(_ticking(found), "rules-tick"):
                yield


async def _ticking(found: RuleEngine) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        if found.bus.leading():
            found.tick()


routes = [
    Route(RULES, create_rules, methods=["POST"]),
    Route(RULES, list_rules, methods=["GET"]),
    Route(f"{RULES}/{{rule_id}}/state", rule_state, methods=["GET"]),
    Route(f"{RULES}/{{rule_id}}", retrieve_rule, methods=["GET"]),
    Route(f"{RULES}/{{rule_id}}", replace_rule, methods=["PUT"]),
    Route(f"{RULES}/{{rule_id}}", delete_rule, methods=["DELETE"]),
]
