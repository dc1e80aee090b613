"""The hep_tracking kit's data: hits of charged particles in a toy tracking detector.

The detector is `N_LAYERS` concentric circular layers around the collision point (the
origin), of radii 1 to `N_LAYERS`. In each event, 3 to 7 particles leave the origin; a
particle of charge ±1 bends in the magnetic field along a circle through the origin of
radius R (R from 8 to 80 layer units, log-uniform: large R is a nearly straight track)
leaving at angle phi0. It crosses the layer of radius r at angle

    phi = phi0 + charge * asin(r / (2 R))

(the chord from the origin to that point is r long), and each crossing is one hit,
measured with a little noise along the layer (Gaussian, `PHI_NOISE` radians) and missed
altogether with probability `MISS`. Tracks whose starting angles lie closer than
`MIN_SEPARATION` radians are redrawn, so that a track stays a distinct cluster, though
curved tracks may still cross.

One row per hit: `event_id`, `layer` (1 to N_LAYERS), `x`, `y` (the position) and
`cluster_id`, the particle that made it (0, 1, ... within the event): the target. Rows
are sorted by event then layer, so the order of a hit says nothing of its particle.

Events are independent: the hidden training set (400 events) and the private test set
(200) are drawn apart; the public training (150) and test (60) sets are the first
events of the hidden training set, renumbered from 0. Everything comes from seeded
generators, so `make data` writes the same files each time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_LAYERS = 5
TRACKS = (3, 7)  # particles per event, both ends included
RADIUS = (8.0, 80.0)  # of a track's circle, in layer units (log-uniform)
PHI_NOISE = 0.004
MISS = 0.03
MIN_SEPARATION = 0.08
COLUMNS = ["event_id", "layer", "x", "y", "cluster_id"]
COUNTS = {"hidden_train": 400, "private_test": 200, "public_train": 150, "public_test": 60}


def _angles(rng: np.random.Generator, n: int) -> np.ndarray:
    """n starting angles at least MIN_SEPARATION apart (on the circle)."""
    while True:
        phi = np.sort(rng.uniform(-np.pi, np.pi, n))
        gaps = np.diff(np.r_[phi, phi[0] + 2 * np.pi])
        if gaps.min() >= MIN_SEPARATION:
            return phi


def event(rng: np.random.Generator, event_id: int) -> dict[str, np.ndarray]:
    """The hits of one event, sorted by layer: one array per column."""
    n = int(rng.integers(TRACKS[0], TRACKS[1] + 1))
    phi0 = rng.permutation(_angles(rng, n))  # a particle's id says nothing of its angle
    radius = np.exp(rng.uniform(np.log(RADIUS[0]), np.log(RADIUS[1]), n))
    charge = rng.choice([-1.0, 1.0], n)
    layers, phis, ids = [], [], []
    for layer in range(1, N_LAYERS + 1):
        phi = phi0 + charge * np.arcsin(layer / (2 * radius)) + rng.normal(0, PHI_NOISE, n)
        seen = np.flatnonzero(rng.random(n) >= MISS)
        layers.append(np.full(len(seen), layer))
        phis.append(phi[seen])
        ids.append(seen)
    layer, phi = np.concatenate(layers), np.concatenate(phis)
    return {"event_id": np.full(len(layer), event_id), "layer": layer,
            "x": np.round(layer * np.cos(phi), 5), "y": np.round(layer * np.sin(phi), 5),
            "cluster_id": np.concatenate(ids)}


def events(n: int, seed: int, first_id: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    drawn = [event(rng, first_id + i) for i in range(n)]
    return pd.DataFrame({c: np.concatenate([d[c] for d in drawn]) for c in COLUMNS})


def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(hidden train, private test, public train, public test)."""
    hidden_train = events(COUNTS["hidden_train"], seed=2017)
    private_test = events(COUNTS["private_test"], seed=2018)
    n_train, n_test = COUNTS["public_train"], COUNTS["public_test"]
    public_train = hidden_train[hidden_train.event_id < n_train].reset_index(drop=True)
    public_test = hidden_train[(hidden_train.event_id >= n_train)
                               & (hidden_train.event_id < n_train + n_test)]
    public_test = public_test.assign(event_id=public_test.event_id - n_train).reset_index(
        drop=True)
    return hidden_train, private_test, public_train, public_test


if __name__ == "__main__":
    from kits.make_data import write

    write("hep_tracking")
    print("kits/hep_tracking: data/ (public) and hidden/data/ (runner only) written")
