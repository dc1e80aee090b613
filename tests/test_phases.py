"""Phases in time, from challenge.yml in UTC, and the visibility state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from challenge import phases
from challenge.kit import load_kit
from challenge.ledger import LedgerError, Visibility
from tests.gitramp_hubs import KITS, START


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    from challenge.hub import demo_phases, with_phases

    d = tmp_path_factory.mktemp("kit") / "iris"
    d.mkdir()
    spec = (KITS / "iris" / "challenge.yml").read_bytes()
    (d / "challenge.yml").write_bytes(with_phases(spec, demo_phases(START, closed_days=7,
                                                                     open_days=21)))
    return load_kit(d)


@pytest.mark.parametrize("offset, state, accepts", [
    (-timedelta(seconds=1), phases.BEFORE_START, False),
    (timedelta(0), phases.CLOSED, True),  # a phase starts at its start, inclusive
    (timedelta(days=7) - timedelta(seconds=1), phases.CLOSED, True),
    (timedelta(days=7), phases.OPEN, True),  # ...and ends at its end, exclusive
    (timedelta(days=28) - timedelta(seconds=1), phases.OPEN, True),
    (timedelta(days=28), phases.ENDED, False),
])
def test_phase_at_each_boundary(kit, offset, state, accepts):
    now = phases.phase_at(kit, START + offset)
    assert (now.state, now.accepts) == (state, accepts)


def test_gap_between_phases_accepts_nothing(kit):
    closed, opened = kit.phases
    later = opened.model_copy(update={"start": opened.start + timedelta(days=1)})
    gap = kit.model_copy(update={"phases": (closed, later)})
    now = phases.phase_at(gap, closed.end + timedelta(hours=1))
    assert now.state == phases.BETWEEN and not now.accepts
    assert "the open phase starts" in now.describe()


def test_a_kit_without_phases_always_accepts(kit):
    unscheduled = kit.model_copy(update={"phases": ()})
    assert phases.phase_at(unscheduled, START).state == phases.UNSCHEDULED


def test_times_without_zone_are_utc():
    assert phases.parse_time("2026-12-01T12:00") == phases.parse_time("2026-12-01T12:00Z")
    assert phases.iso(phases.parse_time("2026-12-01T13:00+01:00")) == "2026-12-01T12:00:00Z"


def test_visibility_defaults_closed_and_round_trips():
    v = Visibility.from_dict(None)
    assert not v.code_visible and not v.revealed
    v = replace(v, code_visible=True, opened_at="2026-12-08T00:00:00Z")
    assert Visibility.from_dict(v.to_dict()) == v
    assert v.to_dict()["schema"] == 1


def test_visibility_reads_only_a_literal_true_and_refuses_what_is_no_state():
    """The one reading of state.yml, for the writer and the site alike."""
    v = Visibility.from_dict({"code_visible": "yes", "revealed": True, "opened_at": ""})
    assert not v.code_visible and v.revealed and v.opened_at is None
    with pytest.raises(LedgerError, match="expected a mapping"):
        Visibility.from_dict(["code_visible"], "leaderboard_data/x/state.yml")
    with pytest.raises(LedgerError, match="schema"):
        Visibility.from_dict({"schema": 2})
