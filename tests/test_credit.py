"""Historical contributivity: credit flows up lineage by inherited share, and is conserved."""

from __future__ import annotations

import numpy as np
import pytest

from challenge.credit import LineageError, historical_contributivity
from challenge.ledger import Key, version_label


def test_worked_example_of_the_docs():
    # docs/contributivity.md: base <- fork (60 % inherited) <- fork2 (25 % inherited).
    blend = {"base@1111": 20.0, "fork@2222": 50.0, "fork2@3333": 30.0}
    parent = {"base@1111": None, "fork@2222": "base@1111", "fork2@3333": "fork@2222"}
    share = {"base@1111": 0.0, "fork@2222": 0.6, "fork2@3333": 0.25}
    out = historical_contributivity(blend, parent, share)
    assert out == pytest.approx({"fork2@3333": 22.5, "fork@2222": 23.0, "base@1111": 54.5})


def test_credit_is_conserved_along_random_lineage_forests():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        names = [f"s{i}@{i:016x}" for i in range(n)]
        # Each version's parent is an earlier one (or none): a forest, as git ancestry gives.
        parent = {v: (names[int(rng.integers(0, i))] if i and rng.random() < 0.7 else None)
                  for i, v in enumerate(names)}
        share = {v: float(rng.random()) for v in names}
        blend = {v: float(x) for v, x in zip(names, rng.dirichlet(np.ones(n)) * 100,
                                             strict=True) if rng.random() < 0.8}
        out = historical_contributivity(blend, parent, share)
        assert set(out) == set(names)
        assert sum(out.values()) == pytest.approx(sum(blend.values()), abs=1e-9)
        assert min(out.values()) >= 0


def test_a_parent_with_no_blend_credit_earns_through_its_descendants():
    out = historical_contributivity({"child@2": 40.0}, {"child@2": "parent@1"},
                                    {"child@2": 0.5, "parent@1": 0.0})
    assert out == {"child@2": 20.0, "parent@1": 20.0}


def test_unknown_parent_leaves_the_credit_with_the_child():
    out = historical_contributivity({"child@2": 40.0}, {"child@2": "gone@1"}, {"child@2": 0.5})
    assert out == {"child@2": 40.0}


def test_no_inherited_share_passes_nothing_and_full_share_passes_everything():
    parent = {"a@1": None, "b@2": "a@1"}
    assert historical_contributivity({"a@1": 10, "b@2": 30}, parent, {"b@2": 0.0}) == \
        {"a@1": 10.0, "b@2": 30.0}
    assert historical_contributivity({"a@1": 10, "b@2": 30}, parent, {"b@2": 1.0}) == \
        {"a@1": 40.0, "b@2": 0.0}


def test_cycles_and_bad_shares_are_refused_with_a_reason():
    with pytest.raises(LineageError, match="cycle"):
        historical_contributivity({"a@1": 1.0}, {"a@1": "b@2", "b@2": "a@1"}, {})
    with pytest.raises(LineageError, match="between 0 and 1"):
        historical_contributivity({"a@1": 1.0}, {"a@1": None}, {"a@1": 1.5})


def test_version_label_matches_the_lineage_naming():
    assert version_label("fork", "0123456789abcdef0123") == "fork@0123456789abcdef"
    assert Key("iris", "fork", "0123456789abcdef0123", "feedbeef").label == \
        "fork@0123456789abcdef"
