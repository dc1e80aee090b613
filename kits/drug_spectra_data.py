"""The drug-spectra kit's data: simulated Raman-like spectra of four drugs in solution.

Each row is one vial: the drug it holds (`molecule`: A, B, Q or R), its concentration
(`concentration`, the quantity to predict, in arbitrary units), the solvent bag it was
made from (`solute`, 1 to 5) and the spectrum (`s000` ... `s159`, intensities on 160
wavenumber bins). A spectrum is made of

- the drug's own peaks (three to five Gaussian bands per molecule, some shared between
  molecules so that telling them apart takes more than one band), scaled by the
  concentration with a slight saturation at high concentrations;
- the solvent's bands, whose height varies from bag to bag;
- a smooth baseline (a random quadratic, as fluorescence gives) and noise.

Concentrations are log-uniform over a range proper to each drug. Everything comes from
one seeded generator, so `make data` writes the same files each time. The split is
stratified on the molecule: hidden train / private test, then public train / public
test from the hidden train, as for the other example kits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

N_ROWS = 900
N_BINS = 160
SEED = 2016
# molecule: (concentration range, bands as (centre bin, width, height per unit))
MOLECULES = {
    "A": ((300, 8000), ((22, 3.0, 1.0), (61, 4.0, 0.6), (97, 2.5, 0.8))),
    "B": ((1000, 20000), ((22, 3.0, 0.5), (70, 3.5, 0.9), (118, 5.0, 0.4), (140, 2.0, 0.3))),
    "Q": ((500, 10000), ((45, 2.5, 0.7), (61, 4.0, 0.5), (104, 3.0, 1.0))),
    "R": ((800, 25000), ((33, 4.0, 0.4), (88, 3.0, 0.6), (118, 5.0, 0.6), (150, 2.5, 0.5),
                         (12, 2.0, 0.3))),
}
SOLVENT_BANDS = ((8, 5.0), (52, 6.0), (128, 7.0))


def _band(centre: float, width: float) -> np.ndarray:
    x = np.arange(N_BINS)
    return np.exp(-0.5 * ((x - centre) / width) ** 2)


def spectra(n: int = N_ROWS, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = sorted(MOLECULES)
    molecule = rng.choice(names, n)
    solute = rng.integers(1, 6, n)
    bag_strength = rng.uniform(0.6, 1.4, 6)  # the solvent's bands, per bag
    x = np.linspace(-1, 1, N_BINS)
    rows, concentration = [], np.empty(n)
    for i in range(n):
        (low, high), bands = MOLECULES[molecule[i]]
        c = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        concentration[i] = round(c, 1)
        scale = 3.0 * np.tanh(c / 20000) / np.tanh(1.0)  # saturates a little
        signal = sum(h * _band(mu + rng.normal(0, 0.3), w) for mu, w, h in bands) * scale
        solvent = bag_strength[solute[i]] * sum(_band(mu, w) for mu, w in SOLVENT_BANDS)
        baseline = rng.normal(0.5, 0.2) + rng.normal(0, 0.3) * x + rng.normal(0, 0.3) * x ** 2
        rows.append(signal + solvent + baseline + rng.normal(0, 0.08, N_BINS))
    df = pd.DataFrame(np.round(np.asarray(rows), 4),
                      columns=[f"s{j:03d}" for j in range(N_BINS)])
    df.insert(0, "solute", solute)
    df.insert(0, "concentration", concentration)
    df.insert(0, "molecule", molecule)
    return df


def tables(seed: int = 42):
    """(hidden train, private test, public train, public test)."""
    df = spectra()
    hidden_train, private_test = train_test_split(df, test_size=0.3, random_state=seed,
                                                  stratify=df["molecule"])
    public_train, public_test = train_test_split(hidden_train, test_size=0.3,
                                                 random_state=seed,
                                                 stratify=hidden_train["molecule"])
    return hidden_train, private_test, public_train, public_test
