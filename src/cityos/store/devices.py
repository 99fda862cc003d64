"""What device ingestion persists: the registry of provisioned devices.

A device is provisioned per tenant in the style of the FIWARE IoT Agent: its measures
(short keys in a JSON payload) land on one entity, named and typed at provisioning. This
module only holds the data and the protocol; validation and the translation of measures
live in `cityos.ingest.devices`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True)
class AttributeMapping:
    """One measure key of the payload (`object_id`) and the attribute it becomes."""

    object_id: str
    name: str
    type: str
    """As provisioned: Property, GeoProperty, Relationship or an IoT Agent type (Number…)."""
    unit_code: str | None = None


@dataclass(slots=True)
class StaticAttribute:
    """An attribute the entity gets when the device creates it, whatever it measures."""

    name: str
    type: str
    value: Any
    unit_code: str | None = None


@dataclass(slots=True)
class Device:
    tenant: str
    device_id: str
    apikey: str
    entity_id: str
    entity_type: str
    """The entity type as provisioned (a short name of `context`, or an IRI)."""
    attributes: list[AttributeMapping] = field(default_factory=list)
    static_attributes: list[StaticAttribute] = field(default_factory=list)
    observed_at_key: str | None = None
    """The payload key giving observedAt of every measure; None: measures carry none."""
    explicit_attrs: bool = False
    """Only mapped keys become attributes; others are ignored instead of kept as Properties."""
    context: str | None = None
    """The @context URL giving the names their meaning; None: the core context."""
    created_at: str = ""
    modified_at: str = ""


class DeviceRegistry(Protocol):
    """Provisioned devices, by tenant; (device_id, apikey) is unique across tenants."""

    def add_device(self, device: Device) -> None:
        """Raises `AlreadyExists` when the tenant has the id or another tenant the id and key."""
        ...

    def replace_device(self, device: Device) -> bool:
        """Store a new version of an existing device; False when there is none."""
        ...

    def get_device(self, tenant: str, device_id: str) -> Device | None: ...

    def list_devices(self, tenant: str, limit: int, offset: int) -> tuple[list[Device], int]:
        """A page of the tenant's devices in provisioning order, and how many it has."""
        ...

    def delete_device(self, tenant: str, device_id: str) -> bool: ...

    def find_devices(self, device_ids: Iterable[str]) -> dict[str, list[Device]]:
        """Every tenant's devices with these ids, by id (to route incoming measures)."""
        ...

    def dump_devices(self, batch: int = 1000) -> Iterator[list[Device]]:
        """Every tenant's devices in provisioning order, `batch` at a time (a migration)."""
        ...

    def load_devices(self, devices: Sequence[Device]) -> None:
        """Write devices in this order after the existing ones, in one transaction (a
        migration restoring them into an empty registry)."""
        ...
