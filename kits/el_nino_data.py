"""The El Nino kit's series: monthly sea-surface temperature of the Nino 1+2 region,
1950-2010, as statsmodels ships it (statsmodels.datasets.elnino; NOAA's ERSST.V3B).

One row per month in time order: `year`, `month`, `sst` (degrees Celsius) and the
target `sst_in_3_months`, the temperature three months later (the last three months,
which have no target, are left out). The hidden test is the latest part of the series
(2001 on); the public copies stop at 2000, their test being 1991-2000. Each test
follows its training rows in time: the scorer predicts it with the training series as
its past (scorer/series.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HORIZON = 3  # months ahead
TARGET = "sst_in_3_months"
HIDDEN_TEST_FROM = 2001  # the private test: 2001-2010
PUBLIC_TEST_FROM = 1991  # the public test, inside the hidden training years: 1991-2000


def series() -> pd.DataFrame:
    try:
        from statsmodels.datasets import elnino
    except ImportError:
        raise SystemExit("the el_nino kit's data comes from statsmodels: "
                         "pip install statsmodels") from None
    wide = elnino.load_pandas().data
    months = wide.columns[1:]
    df = pd.DataFrame({
        "year": np.repeat(wide["YEAR"].astype(int).to_numpy(), len(months)),
        "month": np.tile(np.arange(1, len(months) + 1), len(wide)),
        "sst": wide[months].to_numpy().reshape(-1),
    })
    df[TARGET] = df["sst"].shift(-HORIZON)
    return df.iloc[:-HORIZON].reset_index(drop=True)


def tables():
    """(hidden train, private test, public train, public test), each in time order."""
    df = series()
    hidden_train = df[df["year"] < HIDDEN_TEST_FROM]
    private_test = df[df["year"] >= HIDDEN_TEST_FROM]
    public_train = hidden_train[hidden_train["year"] < PUBLIC_TEST_FROM]
    public_test = hidden_train[hidden_train["year"] >= PUBLIC_TEST_FROM]
    return hidden_train, private_test, public_train, public_test
