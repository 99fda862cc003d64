"""The strengths profile and its narrative, on hand-made values and the packaged set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cityos.indicators.audiences import (
    AudienceError,
    audience,
    load_links,
    messages,
    packaged_links,
)
from cityos.indicators.reference import (
    ReferenceError,
    ReferenceValue,
    Source,
    load_reference,
    merge,
    packaged_reference,
)
from cityos.indicators.strengths import Kind, Profile, narrative, profile
from cityos.indicators.wording import Citations, WordingError, wording

from .citecheck import markers, uncited

HEADER = "city,indicator,value,unit,year,basis,source,note\n"
LINKS_HEADER = "city,kind,place,countries,to,via,value,unit,date,source,note\n"


def ref(city: str, indicator: str, value: float, source: str = "census") -> ReferenceValue:
    return ReferenceValue(city, indicator, value, "u", 2020, "city proper", Source(source))


# a leads b on rail length; they tie on stations and on km per 100 000 (100/1M = 50/500k);
# b leads on ridership (and per capita); only a has a GDP; only c has a freight figure.
VALUES = [
    ref("a", "population", 1_000_000),
    ref("b", "population", 500_000),
    ref("c", "population", 200_000),
    ref("a", "urban-rail-length", 100, "rail atlas"),
    ref("b", "urban-rail-length", 50, "rail atlas"),
    ref("a", "urban-rail-stations", 10, "rail atlas"),
    ref("b", "urban-rail-stations", 10, "rail atlas"),
    ref("a", "urban-rail-ridership", 5_000_000, "operator a"),
    ref("b", "urban-rail-ridership", 9_000_000, "operator b"),
    ref("a", "gdp-per-capita", 7e4, "statistics office"),
    ref("c", "freight-teu-per-year", 1000, "port c"),
]


def kinds(result: Profile, kind: Kind) -> list[str]:
    return [i.row.indicator.id for i in result.items(kind)]


def test_leads_peer_leads_distinctive_context_and_gaps() -> None:
    result = profile("a", ["b", "c"], VALUES)
    assert kinds(result, "lead") == ["urban-rail-length"]
    assert kinds(result, "shared") == ["iso37120-18.1", "urban-rail-stations"]
    assert kinds(result, "peer") == ["urban-rail-ridership", "urban-rail-ridership-per-capita"]
    assert kinds(result, "distinctive") == ["gdp-per-capita"]  # only a has one: not a lead
    assert kinds(result, "context") == ["population"]
    assert [g.id for g in result.gaps] == ["freight-teu-per-year"]
    assert [t.theme for t in result.themes] == ["economy", "population", "transportation"]
    lead = result.items("lead")[0]
    assert [c.city for c in lead.others] == ["b"]  # c has no figure: not beaten, not named
    assert lead.row.cells["c"].value is None
    ridership = result.items("peer")[0]
    assert [c.city for c in ridership.leaders] == ["b"]
    assert ridership.cell.citations == (Source("operator a"),)


def test_a_tie_is_a_shared_lead_naming_the_tied_peer() -> None:
    shared = profile("b", ["a"], VALUES).items("shared")
    assert {i.row.indicator.id for i in shared} == {"iso37120-18.1", "urban-rail-stations"}
    assert all([c.city for c in i.leaders] == ["a"] for i in shared)
    text = " ".join(narrative(profile("b", ["a"], VALUES)).paragraphs)
    assert re.search(r"Urban rail stations: 10 u \(2020, city\)\[\d\], level with A\.", text)


def test_a_city_missing_from_a_row_is_neither_ranked_nor_filled_in() -> None:
    result = profile("c", ["a", "b"], VALUES)
    assert kinds(result, "context") == ["population", "freight-teu-per-year"]  # never ranked
    assert not result.items("lead", "shared", "peer")
    gaps = {g.id for g in result.gaps}
    assert gaps >= {"gdp-per-capita", "urban-rail-length", "urban-rail-ridership"}
    text = " ".join(narrative(result).paragraphs)
    assert "On these figures C leads on no indicator" in text
    assert "The sources give no figure for C on: " in text


def test_the_checker_finds_a_number_without_a_marker() -> None:
    assert uncited("Rail 5 km[1]. GDP 3.01 trillion in 2023. Trains 12[2].") == [
        "Rail 5 km[1]. GDP 3.01 trillion in 2023."
    ]
    name = "Kilometres of high capacity public transport system per 100 000 population"
    assert uncited(f"{name}: 4.49 km per 100 000 population[1].") == []  # a name is no figure
    assert uncited(f"{name}: 4.49 km per 100 000 population.") != []


def test_every_number_of_the_narrative_is_cited_in_order_of_first_use() -> None:
    for language in ("en", "pl"):
        story = narrative(profile("a", ["b", "c"], VALUES), language)
        text = " ".join(story.paragraphs)
        assert uncited(text) == []
        first_use = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", text)))
        assert first_use == list(range(1, len(story.sources) + 1))
    story = narrative(profile("a", ["b", "c"], VALUES))
    assert story.sources[0] == Source("rail atlas")  # the first lead's source is [1]
    text = " ".join(story.paragraphs)
    assert "Urban rail network length: 100 u (2020, city)[1], ahead of B (50 u[1])." in text
    assert "Annual urban rail ridership: B leads with 9 million u[" in text
    assert not any("GDP per capita" in s for s in story.strengths)  # distinctive, not a lead
    assert any("GDP per capita" in s for s in story.distinctive)


def test_a_shared_numbering_carries_on_across_parts_of_a_report() -> None:
    citations = Citations()
    citations.mark([Source("earlier source")])
    story = narrative(profile("a", ["b"], VALUES), "en", citations)
    assert story.sources[0] == Source("earlier source")
    assert 1 not in markers(" ".join(story.paragraphs))


def test_chongqing_leads_where_compared_on_its_central_urban_area() -> None:
    peers = ["london", "warsaw", "lodz", "duisburg"]
    result = profile("chongqing", peers, packaged_reference())
    leads = kinds(result, "lead")
    # Urban rail over the central urban area's 9.58 million, not the municipality's 32 million
    assert {"iso37120-18.1", "urban-rail-length", "urban-rail-ridership"} <= set(leads)
    assert {"higher-education-institutions", "higher-education-students"} <= set(leads)
    peer = {i.row.indicator.id: i for i in result.items("peer")}
    assert [c.city for c in peer["airport-passengers"].leaders] == ["london"]
    assert "pm25" in peer  # the air is not a strength, and the profile says so
    # Never a lead where nothing comparable was beaten.
    assert "gdp-per-capita" in kinds(result, "unranked")
    assert "freight-trains-per-year" in kinds(result, "context")
    english = narrative(result, "en")
    text = " ".join(english.paragraphs)
    assert (
        "Kilometres of high capacity public transport system per 100 000 population: "
        "5.86 km per 100 000 population (2023, central urban area)[" in text
    )
    assert uncited(text) == []
    polish = " ".join(narrative(result, "pl").paragraphs)
    assert "5,86 km na 100 000 mieszkańców (2023, centralny obszar miejski)[" in polish
    assert "1,38 mln studentów (2024, cała municypalność)[" in polish
    assert uncited(polish) == []


def test_numbers_are_written_the_languages_way() -> None:
    en, pl = wording("en"), wording("pl")
    assert en.number(1.097e9) == "1.097 billion"
    assert en.number(7_457_599) == "7,457,599"  # not exact in millions: in full
    trains = [pl.quantity(n, "trains") for n in (1, 2, 5, 22, 2603, 12, 1.5)]
    assert trains == [
        "1 pociąg",
        "2 pociągi",
        "5 pociągów",
        "22 pociągi",
        "2\u00a0603 pociągi",
        "12 pociągów",
        "1,5 pociągu",
    ]
    assert pl.quantity(50e6, "passengers per year", ">") == "ponad 50 mln pasażerów rocznie"
    assert pl.number(117_628) == "117\u00a0628" and pl.number(1.75) == "1,75"
    assert pl.date("2011-03-19") == "19 marca 2011" and en.date("2012") == "2012"
    with pytest.raises(WordingError, match="known: en, pl"):
        wording("xx")


def new_city(tmp_path: Path) -> tuple[list[ReferenceValue], Path]:
    reference = tmp_path / "testville.csv"
    reference.write_text(
        HEADER
        + "testville,population,200000,persons,2024,city proper,Testville census 2024,\n"
        + "testville,urban-rail-length,30,km,2024,city proper,Testville transit authority,\n"
        + "testville,urban-rail-ridership,50000000,rides per year,2024,city proper,"
        + "Testville transit authority,\n",
        encoding="utf-8",
    )
    links = tmp_path / "testville-links.csv"
    links.write_text(
        LINKS_HEADER
        + "testville,rail-time,Warsaw,Poland,,,10,hours,2024,Testville rail timetable 2024,\n"
        + "testville,rail-time,Berlin,Germany,,,6,hours,2024,Testville rail timetable 2024,\n",
        encoding="utf-8",
    )
    return merge(packaged_reference(), load_reference(reference)), links


def test_a_new_city_from_csv_gets_its_own_profile_and_messages(tmp_path: Path) -> None:
    values, links_file = new_city(tmp_path)
    result = profile("testville", ["london", "warsaw"], values)
    # 30 km / 200 000 x 100 000 = 15 km per 100 000, ahead of London's 4.49
    assert kinds(result, "lead") == ["iso37120-18.1", "urban-rail-ridership-per-capita"]
    story = narrative(result)
    text = " ".join(story.paragraphs)
    assert "Kilometres of high capacity public transport system per 100 000 population: " in text
    assert "15 km per 100 000 population (2024, city)[1][2], ahead of London (4.53" in text
    assert "250 rides per capita per year (2024, city)[" in text  # 50 000 000 / 200 000
    assert story.sources[:2] == [
        Source("Testville transit authority"),
        Source("Testville census 2024"),
    ]
    assert uncited(text) == []
    said = messages("testville", audience("poland"), load_links(links_file), Citations())
    assert [m.text for m in said] == [
        "Przejazd koleją Testville \u2013 Warszawa: około 10 godzin[1]."
    ]
    assert said[0].english == "By rail, Testville to Warsaw takes about 10 hours[1]."


def test_polish_messages_for_poland_name_malaszewicze_with_citations() -> None:
    citations = Citations()
    said = messages("chongqing", audience("poland"), packaged_links(), citations)
    assert len(said) == 4  # gauge change, the leg to Duisburg, Poland's TEU, the first train
    assert "Małaszewicze" in said[0].text and "Brześć" in said[0].text
    assert said[0].english is not None and "opposite Brest" in said[0].english
    assert "117\u00a0628 TEU" in said[2].text and "117,628 TEU" in (said[2].english or "")
    assert "19 marca 2011" in said[3].text
    for message in said:
        assert uncited(message.text) == [] and uncited(message.english or "") == []
    assert [(s.publisher, s.published) for s in citations.sources] == [
        ("Namiary na Morze i Handel (namiary.pl)", "2012"),
        ("New Silk Road Discovery", "2024"),
        ("China News Service (ecns.cn)", "2021"),
    ]
    assert all(s.url.startswith("https://") for s in citations.sources)
    germany = messages("chongqing", audience("germany"), packaged_links(), Citations())
    assert {m.link.kind for m in germany} >= {"rail-distance", "rail-time", "ship-time"}
    assert all(m.english is None for m in germany)  # English already
    assert messages("chongqing", audience("uk"), packaged_links(), Citations()) == []


def test_an_unknown_audience_lists_the_known_ones() -> None:
    with pytest.raises(AudienceError, match="known audiences: germany, poland, uk, world"):
        audience("mars")


def test_a_bad_links_csv_names_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "links.csv"
    bad.write_text(LINKS_HEADER + "x,teleport,Warsaw,Poland,,,fast,,,,\n", encoding="utf-8")
    with pytest.raises(ReferenceError) as raised:
        load_links(bad)
    problems = "\n".join(raised.value.problems)
    assert "row 2: source is empty" in problems
    assert "unknown kind 'teleport'" in problems and "'fast' is not a number" in problems
