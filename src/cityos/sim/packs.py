"""Which domain packs exist, by the name scenario files use."""

from __future__ import annotations

import importlib
from typing import Any

from cityos.domains.base import Pack

PACK_MODULES = {
    "environment": "cityos.domains.environment",
    "education": "cityos.domains.education",
    "mobility": "cityos.domains.mobility",
    "freight": "cityos.domains.freight",
    "manufacturing": "cityos.domains.manufacturing",
    "rural": "cityos.domains.rural",
    "renewal": "cityos.domains.renewal",
}


def create_pack(name: str) -> Pack:
    """A new instance of the pack called `name` (each run gets its own state)."""
    module_name = PACK_MODULES.get(name)
    if module_name is None:
        raise ValueError(f"There is no domain pack {name!r}; known: {', '.join(PACK_MODULES)}.")
    module = importlib.import_module(module_name)
    factory: Any = module.PACK
    pack: Pack = factory() if callable(factory) else factory
    return pack
