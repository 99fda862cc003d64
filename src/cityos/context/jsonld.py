"""JSON-LD @context handling: short names to IRIs and back, with no network, ever.

NGSI-LD only needs the term-definition part of JSON-LD: entity types, attribute names and
vocabulary values are expanded with the request's @context and compacted again on the way
out. A full JSON-LD processor would be slower and would want to dereference URLs; this one
resolves every context URL locally: the core context ships in the package, other contexts
come from the broker's own `/jsonldContexts` store or from contexts registered at start-up.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from cityos.context.errors import BadRequestData, LdContextNotAvailable

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
NGSI_LD_NS = "https://uri.etsi.org/ngsi-ld/"

CORE_CONTEXT_ALIASES = (
    CORE_CONTEXT_URL,
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.5.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.4.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld",
)
"""URLs that all mean the core context; the v1.8 document is served for each."""

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
"""What may name a context to look up (RFC 3986 scheme, then no blanks): anything else
is a client's mistake (400), not a context this broker lacks (504)."""

ContextLoader = Callable[[str], dict[str, Any] | None]
"""Looks up a context document by URL locally; None when it is not known here."""


JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"
LINK_REL = "http://www.w3.org/ns/json-ld#context"


def context_link(url: str) -> str:
    """The Link header value that gives a JSON body its @context."""
    return f'<{url}>; rel="{LINK_REL}"; type="{JSON_LD}"'


@cache
def core_context_document() -> dict[str, Any]:
    """The NGSI-LD core @context document, as published by ETSI."""
    data = resources.files("cityos.context").joinpath("data/ngsi-ld-core-context-v1.8.jsonld")
    document: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))
    return document


class Terms:
    """A resolved @context: expands short names to IRIs and compacts IRIs back.

    Results are memoised per instance; instances are shared across requests through
    `ContextResolver`'s cache, so hot names cost one dict look-up.
    """

    def __init__(self, definitions: dict[str, str], vocab: str | None, source: Any) -> None:
        self.definitions = definitions
        self.vocab = vocab
        self.source = source
        """The @context value this was resolved from, echoed back in responses."""
        self._expanded: dict[str, str] = {}
        self._compacted: dict[str, str] = {}
        self._inverse = _inverse(definitions)
        self._prefixes = sorted(
            ((iri, term) for term, iri in definitions.items() if iri.endswith(("/", "#"))),
            key=lambda pair: -len(pair[0]),
        )

    def expand(self, term: str) -> str:
        """The IRI a type, attribute or vocabulary term names."""
        found = self._expanded.get(term)
        if found is None:
            found = self._expanded[term] = self._expand(term)
        return found

    def compact(self, iri: str) -> str:
        """The shortest name this context gives `iri`, or `iri` itself."""
        found = self._compacted.get(iri)
        if found is None:
            found = self._compacted[iri] = self._compact(iri)
        return found

    def _expand(self, term: str) -> str:
        if term in self.definitions:
            return self.definitions[term]
        prefix, sep, suffix = term.partition(":")
        if sep:
            if prefix in self.definitions and not suffix.startswith("//"):
                return self.definitions[prefix] + suffix
            return term
        if self.vocab is not None:
            return self.vocab + term
        return DEFAULT_VOCAB + term

    def _compact(self, iri: str) -> str:
        term = self._inverse.get(iri)
        if term is not None:
            return term
        vocab = self.vocab or DEFAULT_VOCAB
        if iri.startswith(vocab) and len(iri) > len(vocab):
            return iri[len(vocab) :]
        for prefix_iri, prefix in self._prefixes:
            if iri.startswith(prefix_iri) and len(iri) > len(prefix_iri):
                return f"{prefix}:{iri[len(prefix_iri) :]}"
        return iri


def _inverse(definitions: dict[str, str]) -> dict[str, str]:
    """IRI → term, preferring the shortest term and then the first in order (JSON-LD 1.1)."""
    inverse: dict[str, str] = {}
    for term, iri in definitions.items():
        current = inverse.get(iri)
        if current is None or len(term) < len(current):
            inverse[iri] = term
    return inverse


@dataclass(frozen=True, slots=True)
class ContextLimits:
    """How much one @context may make the broker do: resolving costs far more than
    sending (a list of one URL repeated a million times, stored contexts importing each
    other), so past these it is refused (BadRequestData, 400). `cityos serve
    --max-context-entries` and `--max-context-depth` set them."""

    max_entries: int = 64
    """URLs and objects resolved for one @context, the imports of stored contexts included."""
    max_depth: int = 8
    """Levels of lists and imports one @context may nest."""

    def too_many(self) -> BadRequestData:
        return BadRequestData(
            f"@context resolves more than {self.max_entries} URLs and objects, imports "
            "included (cityos serve --max-context-entries)."
        )


DEFAULT_CONTEXT_LIMITS = ContextLimits()


@cache
def core_terms() -> Terms:
    """The core @context's terms: how the API expands names a request sends without an
    @context. Every internal writer (cases, domain packs, indicators, samples) expands its
    short names with these, so what it stores is what a query with the same names finds."""
    return ContextResolver().core


class ContextResolver:
    """Turns a request's @context (URL, object or list of them) into `Terms`.

    The core context is always applied last, so its terms can never be redefined
    (ETSI GS CIM 009, 5.5.7).
    """

    def __init__(
        self,
        loader: ContextLoader | None = None,
        cache_size: int = 256,
        limits: ContextLimits = DEFAULT_CONTEXT_LIMITS,
    ) -> None:
        self._loader = loader
        self._cache: OrderedDict[str, Terms] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        """Requests resolve on worker threads: the cache's order changes under it."""
        self.limits = limits
        self.core = self._build([], None)

    def resolve(self, context: Any) -> Terms:
        """Terms for `context` (None: only the core context)."""
        if context is None:
            return self.core
        if isinstance(context, list) and len(context) > self.limits.max_entries:
            raise self.limits.too_many()  # before the cache key costs a walk of it all
        key = context if isinstance(context, str) else json.dumps(context, sort_keys=True)
        with self._cache_lock:
            terms = self._cache.get(key)
            if terms is not None:
                self._cache.move_to_end(key)
                return terms
        terms = self._build(_as_list(context), context)
        with self._cache_lock:
            self._cache[key] = terms
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return terms

    def forget(self, url: str) -> None:
        """Drop cached terms built from `url` (its document changed or was deleted)."""
        with self._cache_lock:
            for key in [k for k in self._cache if url in k]:
                del self._cache[key]

    def document(self, url: str) -> dict[str, Any]:
        """The context document at `url`, from the package or the local store."""
        if url in CORE_CONTEXT_ALIASES:
            return core_context_document()
        document = self._loader(url) if self._loader else None
        if document is None:
            if _ABSOLUTE_IRI.match(url) is None:
                raise BadRequestData(f"An @context URL must be an absolute URL, not {url!r}.")
            raise LdContextNotAvailable(
                f"The @context {url} is not available: cityos never fetches contexts from the "
                "network. Register it first with POST /ngsi-ld/v1/jsonldContexts."
            )
        return document

    def _build(self, contexts: list[Any], source: Any) -> Terms:
        for item in contexts:
            if item is not None and not isinstance(item, str | dict):
                raise BadRequestData(
                    f"An @context holds URLs and objects (or null), not {_kind(item)}."
                )
        definitions: dict[str, str] = {}
        vocab: list[str | None] = [None]
        budget = [self.limits.max_entries]
        for item in contexts:
            self._apply(item, definitions, vocab, 0, budget)
        user_vocab = vocab[0]
        self._apply(CORE_CONTEXT_URL, definitions, vocab, 0, None)
        if user_vocab is not None:
            vocab[0] = user_vocab
        resolved = {
            term: iri
            for term, value in definitions.items()
            if ":" in (iri := _resolve_iri(value, definitions))
        }
        vocab_iri = _resolve_iri(vocab[0], definitions) if vocab[0] else None
        return Terms(resolved, vocab_iri, source)

    def _apply(
        self,
        item: Any,
        definitions: dict[str, str],
        vocab: list[str | None],
        depth: int,
        budget: list[int] | None,
    ) -> None:
        """Apply one @context entry; `budget` counts down the entries a client's context
        may still visit, imports included (None: the packaged core context, not counted)."""
        if depth > self.limits.max_depth:
            raise BadRequestData(
                f"@context nests too deeply (more than {self.limits.max_depth} levels of "
                "imports; cityos serve --max-context-depth)."
            )
        if item is None:
            return
        if budget is not None and not isinstance(item, list):
            budget[0] -= 1
            if budget[0] < 0:
                raise self.limits.too_many()
        if isinstance(item, str):
            document = self.document(item)
            inner = document.get("@context")
            if budget is not None and isinstance(inner, dict):
                budget[0] += 1  # a document's own definitions count with its URL
            self._apply(inner, definitions, vocab, depth + 1, budget)
            return
        if isinstance(item, list):
            for sub in item:
                self._apply(sub, definitions, vocab, depth + 1, budget)
            return
        if not isinstance(item, dict):
            raise BadRequestData(f"@context entries must be URLs or objects, not {item!r}.")
        for term, value in item.items():
            if term == "@vocab":
                if value is not None and not isinstance(value, str):
                    raise BadRequestData("@vocab must be a string.")
                vocab[0] = value
            elif term.startswith("@"):
                continue
            elif value is None:
                definitions.pop(term, None)
            elif isinstance(value, str):
                if not value.startswith("@"):
                    definitions[term] = value
            elif isinstance(value, dict):
                iri = value.get("@id")
                if isinstance(iri, str) and not iri.startswith("@"):
                    definitions[term] = iri
                elif iri is None and "@reverse" not in value:
                    definitions.pop(term, None)
            else:
                raise BadRequestData(f"The @context definition of {term!r} is not valid.")


def _resolve_iri(value: str, definitions: dict[str, str]) -> str:
    """Expand a compact IRI `prefix:suffix` used inside a context definition."""
    for _ in range(4):
        prefix, sep, suffix = value.partition(":")
        if not sep or suffix.startswith("//") or prefix not in definitions:
            return value
        target = definitions[prefix]
        if target == value:
            return value
        value = target + suffix
    return value


def _as_list(context: Any) -> list[Any]:
    return list(context) if isinstance(context, list) else [context]


def _kind(value: Any) -> str:
    return "an array" if isinstance(value, list) else repr(value)
