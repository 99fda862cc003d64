"""Routing by category, district and grid cell; the H3 grid helpers it stands on."""

from __future__ import annotations

import h3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityos.governance.districts import Districts
from cityos.governance.grid import cell_contains, cell_resolution, grid_cell, is_cell
from cityos.governance.routing import Router, RoutingRule

CHONGQING = Districts.packaged("chongqing")
JIEFANGBEI = (106.577, 29.557)  # Yuzhong
JIANGBEIZUI = (106.579, 29.573)  # Jiangbei
CIQIKOU = (106.448, 29.579)  # Shapingba
WANZHOU = (108.40, 30.80)
BEIJING = (116.40, 39.90)
NAMES = {
    "central-roads": "Central Roads",
    "roads": "Roads",
    "water": "Water",
    "parks": "Parks",
    "city-management": "City Management",
}


def router(*rules: RoutingRule, names: dict[str, str] | None = NAMES) -> Router:
    return Router(list(rules), "city-management", CHONGQING, 8, names)


RULES = (
    RoutingRule("central-roads", frozenset({"pothole"}), ("Yuzhong", "江北区")),
    RoutingRule(
        "water",
        frozenset({"flood", "waterlogging"}),
        cells=(h3.cell_to_parent(grid_cell(*JIEFANGBEI, 8), 7),),  # a neighbourhood
    ),
    RoutingRule("roads", frozenset({"pothole"})),
    RoutingRule("parks", districts=("500106",)),  # Shapingba, by code, any category
)


def test_the_first_matching_rule_wins_and_says_so() -> None:
    routing = router(*RULES).route("pothole", JIEFANGBEI)
    assert routing.department == "central-roads"
    assert routing.district == "Yuzhong"
    assert routing.cell == grid_cell(*JIEFANGBEI, 8)
    assert routing.rule == 1
    assert routing.reason == (
        "routed to Central Roads because category pothole in district Yuzhong "
        "matches routing rule 1"
    )


def test_a_rule_names_districts_in_any_language() -> None:
    routing = router(*RULES).route("pothole", JIANGBEIZUI)
    assert (routing.department, routing.district, routing.rule) == ("central-roads", "Jiangbei", 1)


def test_a_later_rule_catches_what_earlier_ones_leave() -> None:
    routing = router(*RULES).route("pothole", WANZHOU)
    assert (routing.department, routing.district, routing.rule) == ("roads", "Wanzhou", 3)
    assert routing.reason == "routed to Roads because category pothole matches routing rule 3"


def test_a_coarser_cell_in_a_rule_contains_the_cases_cell() -> None:
    routing = router(*RULES).route("waterlogging", JIEFANGBEI)
    assert routing.department == "water"
    assert routing.rule == 2
    assert routing.reason == (
        f"routed to Water because category waterlogging in cell {routing.cell} "
        "matches routing rule 2"
    )


@pytest.mark.parametrize("resolution", [0, 3, 5, 7, 8])
def test_cells_of_any_coarser_resolution_match(resolution: int) -> None:
    rule = RoutingRule("water", cells=(h3.cell_to_parent(grid_cell(*JIEFANGBEI, 8), resolution),))
    assert router(rule).route("flood", JIEFANGBEI).department == "water"


def test_a_case_outside_the_rules_cells_does_not_match_them() -> None:
    routing = router(*RULES).route("flood", WANZHOU)
    assert routing.department == "city-management"
    assert routing.rule is None
    assert routing.reason == (
        "routed to City Management (the fallback) because no routing rule matches "
        "category flood in district Wanzhou"
    )


def test_a_cell_rule_never_matches_a_case_without_a_location() -> None:
    routing = router(*RULES).route("flood", None, "Yuzhong")
    assert routing.department == "city-management"
    assert routing.cell is None


def test_a_district_only_rule_takes_every_category() -> None:
    routing = router(*RULES).route("noise", CIQIKOU)
    assert (routing.department, routing.district, routing.rule) == ("parks", "Shapingba", 4)
    assert "category noise in district Shapingba matches routing rule 4" in routing.reason


def test_the_reported_district_counts_when_the_location_is_unknown() -> None:
    routing = router(*RULES).route("pothole", None, "yuzhong district")
    assert (routing.department, routing.district, routing.cell) == (
        "central-roads",
        "Yuzhong",
        None,
    )


def test_the_location_outweighs_the_reported_district() -> None:
    routing = router(*RULES).route("pothole", WANZHOU, "Yuzhong")
    assert (routing.department, routing.district) == ("roads", "Wanzhou")


def test_the_reported_district_counts_when_the_location_is_outside_the_city() -> None:
    routing = router(*RULES).route("pothole", BEIJING, "渝中区")
    assert (routing.department, routing.district) == ("central-roads", "Yuzhong")
    assert routing.cell == grid_cell(*BEIJING, 8)


def test_an_unknown_reported_district_is_kept_but_matches_no_district_rule() -> None:
    routing = router(*RULES).route("noise", None, "Gotham")
    assert (routing.department, routing.district) == ("city-management", "Gotham")
    assert routing.reason.endswith("matches category noise in district Gotham")


def test_the_fallback_says_when_no_district_is_known() -> None:
    routing = router(*RULES).route("noise", None)
    assert routing.district is None
    assert routing.reason == (
        "routed to City Management (the fallback) because no routing rule matches "
        "category noise (no district known)"
    )


def test_without_department_names_the_reason_uses_ids() -> None:
    routing = router(*RULES, names=None).route("pothole", WANZHOU)
    assert routing.reason.startswith("routed to roads because")


def test_a_rule_must_have_a_condition() -> None:
    with pytest.raises(ValueError, match="needs a category, a district or a cell"):
        RoutingRule("roads")


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (RoutingRule("roads", districts=("Gotham",)), "routing rule 1: no district is called"),
        (RoutingRule("roads", cells=("not-a-cell",)), "routing rule 1: 'not-a-cell' is not"),
    ],
)
def test_a_router_refuses_rules_it_cannot_apply(rule: RoutingRule, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        router(rule)


def test_a_router_refuses_a_bad_grid_resolution() -> None:
    with pytest.raises(ValueError, match="from 0 to 15"):
        Router([], "city-management", CHONGQING, 16)


# -- grid ------------------------------------------------------------------------------------


def test_grid_cell_is_the_h3_cell_of_lat_lng() -> None:
    assert grid_cell(106.577, 29.557, 8) == "884019718bfffff"
    assert cell_resolution("884019718bfffff") == 8
    assert is_cell("884019718bfffff")
    assert is_cell("884019718BFFFFF")


@pytest.mark.parametrize(
    ("lon", "lat", "resolution", "problem"),
    [
        (106.5, 29.5, 16, "from 0 to 15"),
        (106.5, 29.5, -1, "from 0 to 15"),
        (106.5, 29.5, 8.0, "an integer"),
        (106.5, 29.5, True, "an integer"),
        (181.0, 29.5, 8, "longitude"),
        (float("nan"), 29.5, 8, "longitude"),
        (106.5, 91.0, 8, "latitude"),
        (106.5, float("inf"), 8, "latitude"),
    ],
)
def test_grid_cell_refuses_bad_input(lon: float, lat: float, resolution: int, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        grid_cell(lon, lat, resolution)


@pytest.mark.parametrize("text", ["", "zz", "884019718bfffffx", "0", 42, None])
def test_is_cell_refuses_what_is_no_cell(text: object) -> None:
    assert not is_cell(text)


def test_cell_resolution_refuses_what_is_no_cell() -> None:
    with pytest.raises(ValueError, match="not an H3 cell"):
        cell_resolution("zz")


def test_cell_contains() -> None:
    fine = grid_cell(*JIEFANGBEI, 8)
    coarse = h3.cell_to_parent(fine, 6)
    sibling = next(c for c in h3.grid_disk(fine, 1) if c != fine)
    far = grid_cell(*WANZHOU, 6)
    assert cell_contains(fine, fine)
    assert cell_contains(coarse, fine)
    assert cell_contains(coarse.upper(), fine)
    assert not cell_contains(fine, coarse)  # a finer cell holds no coarser one
    assert not cell_contains(sibling, fine)
    assert not cell_contains(far, fine)
    assert not cell_contains("zz", fine)
    assert not cell_contains(coarse, "zz")


@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-89.9, 89.9),
    coarse=st.integers(0, 15),
    fine=st.integers(0, 15),
)
def test_exactly_one_cell_of_each_coarser_resolution_contains_a_cell(
    lon: float, lat: float, coarse: int, fine: int
) -> None:
    coarse, fine = min(coarse, fine), max(coarse, fine)
    cell = grid_cell(lon, lat, fine)
    assert cell_resolution(cell) == fine
    parent = h3.cell_to_parent(cell, coarse)
    assert cell_contains(parent, cell)
    assert not any(cell_contains(n, cell) for n in h3.grid_ring(parent, 1))
