"""Historical contributivity: blend credit shared along git lineage.

Each submission version receives its own blend contributivity plus whatever its
descendants pass up to it. Of what it receives, it passes the fraction
`inherited_share` (the share of its code inherited from its lineage parent, as the
ledger records it) to its parent and keeps the rest. Credit moves, it is never made
or lost: the historical contributivities add up to the blend total. Credit stops at
a submission whose parent is unknown (not among the versions given), which keeps
all it receives. See docs/contributivity.md for a worked example.

Versions are named `<submission>@<tree16>`, as `lineage.parent` names them.
"""

from __future__ import annotations

from collections.abc import Mapping

from challenge.errors import GitrampError


class LineageError(GitrampError):
    """Lineage that cannot carry credit (a cycle, or a share outside 0..1)."""


def version_id(submission: str, tree: str) -> str:
    return f"{submission}@{tree[:16]}"


def historical_contributivity(blend: Mapping[str, float],
                              parent: Mapping[str, str | None],
                              inherited_share: Mapping[str, float]) -> dict[str, float]:
    """Credit each version keeps once blend credit has flowed up the lineage.

    `blend`: version -> blend contributivity (versions absent count as 0);
    `parent`: version -> its lineage parent's version, or None;
    `inherited_share`: version -> fraction in 0..1 passed to the parent.
    Returns version -> historical contributivity for every version named in any of
    the three mappings; its values sum to sum(blend.values()).
    """
    versions = set(blend) | set(parent) | set(inherited_share)
    for v, share in inherited_share.items():
        if not 0.0 <= share <= 1.0:
            raise LineageError(f"{v}: inherited_share {share} is not between 0 and 1; "
                               f"fix the lineage of that ledger record")
    up = {v: p for v, p in parent.items() if p is not None and p in versions and p != v}
    received = {v: float(blend.get(v, 0.0)) for v in versions}
    kept = {}
    for v in _children_first(versions, up):
        share = inherited_share.get(v, 0.0) if v in up else 0.0
        passed = received[v] * share
        kept[v] = received[v] - passed
        if v in up:
            received[up[v]] += passed
    return kept


def _children_first(versions: set[str], up: Mapping[str, str]) -> list[str]:
    """Every version after all the versions whose parent it is (a reverse topological order)."""
    waiting = {v: 0 for v in versions}
    for p in up.values():
        waiting[p] += 1
    ready = sorted(v for v, n in waiting.items() if n == 0)
    order = []
    while ready:
        v = ready.pop()
        order.append(v)
        p = up.get(v)
        if p is not None:
            waiting[p] -= 1
            if waiting[p] == 0:
                ready.append(p)
    if len(order) != len(versions):
        stuck = sorted(set(versions) - set(order))
        raise LineageError(f"lineage forms a cycle through {', '.join(stuck)}; each "
                           f"submission's parent must be an earlier version")
    return order
