"""Writes the data of the `series` and `spectra` fixture kits (seeded; run from the
repository root: python -m tests.ramp_kits.make_series_spectra).

series: a monthly temperature with a seasonal cycle and autocorrelated noise; the
target is the temperature two months later (RAMP's El Nino shape, one table).
spectra: 16-channel spectra of four molecules at several concentrations, each
molecule a bump at its own channels scaled by its concentration, plus noise (RAMP's
drug-spectra shape: a class and a quantity per row)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def series(rng: np.random.Generator, n: int = 190, ahead: int = 2) -> pd.DataFrame:
    months = np.arange(n + ahead)
    noise = np.zeros(n + ahead)
    for t in range(1, n + ahead):
        noise[t] = 0.7 * noise[t - 1] + rng.normal(0, 0.4)
    temp = 20 + 3 * np.sin(2 * np.pi * months / 12) + noise
    return pd.DataFrame({"month": (months[:n] % 12 + 1).astype(float),
                         "temp": temp[:n].round(3),
                         "temp_ahead": temp[ahead:].round(3)})


def spectra(rng: np.random.Generator, n: int) -> pd.DataFrame:
    molecules = np.array(["A", "B", "Q", "R"])
    which = rng.integers(0, 4, n)
    conc = rng.choice([500.0, 1000.0, 2000.0, 4000.0, 8000.0], n)
    channels = np.arange(16)
    centres = np.array([3, 6, 9, 12])
    bumps = np.exp(-0.5 * ((channels[None, :] - centres[which][:, None]) / 1.5) ** 2)
    values = bumps * conc[:, None] / 1000 + rng.normal(0, 0.3, (n, 16))
    df = pd.DataFrame(values.round(4), columns=[f"s{i}" for i in channels])
    df["molecule"] = molecules[which]
    df["concentration"] = conc
    return df


def main() -> None:
    rng = np.random.default_rng(2024)
    s = series(rng)
    s.iloc[:150].to_csv(HERE / "series" / "data" / "train.csv", index=False)
    s.iloc[150:].to_csv(HERE / "series" / "data" / "test.csv", index=False)
    spectra(rng, 120).to_csv(HERE / "spectra" / "data" / "train.csv", index=False)
    spectra(rng, 40).to_csv(HERE / "spectra" / "data" / "test.csv", index=False)


if __name__ == "__main__":
    main()
