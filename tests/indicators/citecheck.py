"""A checker for "every number is followed by its citation", shared by the report tests.

A figure must be followed by a marker ([n]) before its sentence ends; labels that contain
digits but are no figure (an indicator named "per 100 000 population") are taken out first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cityos.indicators.catalogue import catalogue
from cityos.indicators.wording import languages, wording

TOKENS = re.compile(
    r"(?P<marker>\[\d+\])|(?P<number>\d(?:[\d\u00a0]|[.,](?=\d))*)|(?P<end>\.(?=\s|$))"
)


ABBREVIATIONS = ("ok. ", "c. ")
"""Abbreviations whose full stop ends no sentence ("ok. 2024", "c. 2024")."""


def labels() -> list[str]:
    """Names and units that carry digits of their own, longest first."""
    found = {i.name for i in catalogue().indicators.values()}
    found |= {i.unit for i in catalogue().indicators.values()}
    for language in languages():
        words = wording(language)
        found |= set(words.indicators.values()) | set(words.units)
        for unit in words.units.values():
            found |= {unit} if isinstance(unit, str) else set(unit.values())
    return sorted((f for f in found if re.search(r"\d", f)), key=len, reverse=True)


def uncited(text: str, extra_labels: Iterable[str] = ()) -> list[str]:
    """The sentences of `text` with a number that no marker follows."""
    text = " ".join(text.split())
    for label in [*extra_labels, *labels(), *ABBREVIATIONS]:
        text = text.replace(" ".join(label.split()), "")
    problems: list[str] = []
    pending: int | None = None
    for match in TOKENS.finditer(text):
        if match.group("number") and pending is None:
            pending = match.start()
        elif match.group("marker"):
            pending = None
        elif match.group("end") and pending is not None:
            problems.append(text[max(0, pending - 60) : match.end()])
            pending = None
    if pending is not None:
        problems.append(text[max(0, pending - 60) :])
    return problems


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}
