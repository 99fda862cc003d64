"""What a firing rule does: open a case, set an attribute, raise an Alert (and subscribe).

Every action is idempotent for one episode: the case id, the Alert id and the subscription
id are derived from the rule, the entity and the episode, so running an episode's actions
again after a crash opens no second case and raises no second Alert. Writes go through
the broker like any client's; actions run on the engine's worker thread, never inside the
broker's listener call.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cityos.context.broker import Broker, iso_time, utc_now
from cityos.context.entity import GEO_PROPERTY, Entity
from cityos.context.errors import ResourceNotFound
from cityos.context.normalize import parse_entity
from cityos.events.notifier import Notifier
from cityos.events.subscription import validate_subscription
from cityos.governance.model import Report, Source
from cityos.rules.model import Notify, OpenCase, Rule, RuleError, SetAttribute, render_template
from cityos.store.subscriptions import StoredSubscription

log = logging.getLogger("cityos.rules")

CaseOpener = Callable[[str, Report], str]
"""(tenant, report) → case id; a report with a case id that exists is already done."""

ALERT_TYPE = "Alert"


@dataclass(slots=True)
class Firing:
    """An episode that fired (`fire`) or, having fired, cleared (`clear`)."""

    kind: Literal["fire", "clear"]
    tenant: str
    rule: Rule
    entity_id: str
    episode: int
    at: float
    """Seconds since 1970."""
    entity: Entity | None = None
    """The entity as the evaluation saw it; None: read it from the store."""


def entity_hash(entity_id: str) -> str:
    return hashlib.sha1(entity_id.encode()).hexdigest()[:12]


def case_id(rule_id: str, entity_id: str, episode: int) -> str:
    return f"urn:ngsi-ld:Case:rule:{rule_id}:{entity_hash(entity_id)}:{episode}"


def alert_prefix(rule_id: str) -> str:
    return f"urn:ngsi-ld:{ALERT_TYPE}:{rule_id}:"


def alert_id(rule_id: str, entity_id: str) -> str:
    return alert_prefix(rule_id) + entity_hash(entity_id)


def subscription_id(rule_id: str, uri: str) -> str:
    return f"urn:ngsi-ld:Subscription:rule:{rule_id}:{entity_hash(uri)}"


class Actions:
    """Runs the actions of firings, and keeps the subscriptions of `notify` endpoints."""

    def __init__(
        self,
        broker: Broker,
        open_case: CaseOpener | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.broker = broker
        self.open_case = open_case
        self.notifier = notifier

    def run(self, firing: Firing) -> None:
        """Every action of the firing's rule; the first failure is raised after trying all."""
        entity = firing.entity
        if entity is None:
            entity = self.broker.store.get(firing.tenant, firing.entity_id)
        failed: Exception | None = None
        for action in firing.rule.actions:
            try:
                if isinstance(action, Notify):
                    self._notify(firing, action, entity)
                elif firing.kind == "clear":
                    continue
                elif isinstance(action, OpenCase):
                    self._case(firing, action, entity)
                elif isinstance(action, SetAttribute):
                    self._set(firing, action, entity)
            except Exception as error:  # one broken action must not stop the others
                log.exception("Rule %s: %s on %s failed", firing.rule.id, action, firing.entity_id)
                failed = failed or error
        if failed is not None:
            raise failed

    # -- the actions ---------------------------------------------------------------------

    def _case(self, firing: Firing, action: OpenCase, entity: Entity | None) -> None:
        if self.open_case is None:
            log.warning("Rule %s fired but no case service is wired", firing.rule.id)
            return
        template = action.description or firing.rule.description or "Rule {rule} on {id}"
        report = Report(
            category=action.category,
            source=Source.RULE,
            description=render_template(template, _placeholders(firing, entity)),
            location=_point(firing.rule, entity),
            priority=action.priority,
            raised_by=firing.entity_id,
            case_id=case_id(firing.rule.id, firing.entity_id, firing.episode),
        )
        self.open_case(firing.tenant, report)

    def _set(self, firing: Firing, action: SetAttribute, entity: Entity | None) -> None:
        if entity is None:
            return  # gone since: nothing to set
        terms = firing.rule.terms
        name = terms.compact(action.attribute)
        stamp = utc_now()
        value = {name: {"type": "Property", "value": action.value}}
        fragment = parse_entity(value, terms, stamp, partial=True)
        with contextlib.suppress(ResourceNotFound):  # deleted since
            self.broker.merge(firing.tenant, firing.entity_id, fragment)

    def _notify(self, firing: Firing, action: Notify, entity: Entity | None) -> None:
        rule, terms = firing.rule, firing.rule.terms
        stamp = iso_time(firing.at)
        when = {"type": "Property", "value": {"@type": "DateTime", "@value": stamp}}
        target = alert_id(rule.id, firing.entity_id)
        if firing.kind == "clear":
            fragment = parse_entity({"validTo": when}, terms, stamp, partial=True)
            with contextlib.suppress(ResourceNotFound):  # never raised: nothing to close
                self.broker.merge(firing.tenant, target, fragment)
            return
        template = action.description or rule.description or "Rule {rule} on {id}"
        body: dict[str, Any] = {
            "id": target,
            "type": ALERT_TYPE,
            "category": {"type": "Property", "value": action.category},
            "subCategory": {"type": "Property", "value": action.sub_category or rule.id},
            "severity": {"type": "Property", "value": action.severity},
            "alertSource": {"type": "Relationship", "object": firing.entity_id},
            "dateIssued": when,
            "validFrom": when,
            "description": {
                "type": "Property",
                "value": render_template(template, _placeholders(firing, entity)),
            },
        }
        geometry = _geometry(rule, entity)
        if geometry is not None:
            body["location"] = {"type": GEO_PROPERTY, "value": geometry}
        alert = parse_entity(body, terms, stamp)
        self.broker.batch_upsert(firing.tenant, [(target, alert)], replace=True)

    # -- subscriptions of notify endpoints -----------------------------------------------

    def subscriptions(self, tenant: str, rule: Rule) -> list[StoredSubscription]:
        """The subscriptions `rule`'s notify endpoints need, checked (400 if refused)."""
        wanted: list[StoredSubscription] = []
        for index, action in enumerate(rule.actions):
            if not isinstance(action, Notify) or action.uri is None:
                continue
            member = f"then[{index}].notify.uri"
            if self.notifier is None:
                raise RuleError(member, "notification endpoints need the subscription service.")
            sub_id = subscription_id(rule.id, action.uri)
            doc = {
                "id": sub_id,
                "type": "Subscription",
                "subscriptionName": f"cityos rule {rule.id}",
                "entities": [
                    {
                        "type": terms_name(rule, ALERT_TYPE),
                        "idPattern": "^" + re.escape(alert_prefix(rule.id)),
                    }
                ],
                "notification": {"endpoint": {"uri": action.uri}},
            }
            try:
                validate_subscription(doc, rule.terms, now=self.notifier.clock())
                self.notifier.policy.check(action.uri, unresolved_ok=True)
            except RuleError:
                raise
            except Exception as error:
                raise RuleError(member, str(getattr(error, "detail", error))) from None
            now = utc_now()
            wanted.append(StoredSubscription(tenant, sub_id, doc, rule.terms.source, now, now))
        return wanted

    def subscribe(self, subscriptions: list[StoredSubscription]) -> None:
        """Create (or leave as they are) the checked subscriptions, served at once."""
        if self.notifier is None:
            return
        store = self.notifier.store
        for wanted in subscriptions:
            existing = store.get_subscription(wanted.tenant, wanted.id)
            if existing is not None and existing.doc == wanted.doc:
                continue
            if existing is not None:
                wanted.created_at = existing.created_at
            store.put_subscription(wanted)
            self.notifier.activate(wanted)

    def unsubscribe(self, tenant: str, rule: Rule, keep: frozenset[str] = frozenset()) -> None:
        """Delete the subscriptions `rule` made, but those in `keep`."""
        if self.notifier is None:
            return
        for action in rule.actions:
            if not isinstance(action, Notify) or action.uri is None:
                continue
            sub_id = subscription_id(rule.id, action.uri)
            if sub_id not in keep and self.notifier.store.delete_subscription(tenant, sub_id):
                self.notifier.deactivate(tenant, sub_id)


def terms_name(rule: Rule, term: str) -> str:
    """`term` as written in the rule's @context (so the subscription expands it the same)."""
    return rule.terms.compact(rule.terms.expand(term))


def _placeholders(firing: Firing, entity: Entity | None) -> dict[str, str]:
    rule = firing.rule
    value: Any = ""
    if entity is not None and rule.subject is not None:
        inst = entity.instance(rule.subject)
        if inst is not None:
            value = inst.get("value", inst.get("object", ""))
    types = entity.types if entity is not None else []
    return {
        "id": firing.entity_id,
        "type": ",".join(rule.terms.compact(t) for t in types),
        "rule": rule.id,
        "value": str(value),
    }


def _geometry(rule: Rule, entity: Entity | None) -> dict[str, Any] | None:
    if entity is None:
        return None
    inst = entity.instance(rule.terms.expand("location"))
    if inst is None or inst.get("type") != GEO_PROPERTY:
        return None
    geometry: dict[str, Any] = inst["value"]
    return geometry


def _point(rule: Rule, entity: Entity | None) -> tuple[float, float] | None:
    """The entity's `location`, when it is a Point, as (longitude, latitude)."""
    geometry = _geometry(rule, entity)
    if geometry is None or geometry.get("type") != "Point":
        return None
    lon, lat = geometry["coordinates"][:2]
    return float(lon), float(lat)
