"""Generates the example kits' data from datasets that ship inside scikit-learn.

For each kit, writes the public copies (`kits/<kit>/data/`, what participants get)
and the hidden copies (`kits/<kit>/hidden/data/`, what a runner holds: a larger
training set and the private test set with its labels). Nothing is downloaded.
Run with `python -m kits.make_data` (or `make data`); it is idempotent. `gitramp init`
of an example kit uses `public_files` (the module ships with gitramp as gitramp.kits).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

from . import craters

KITS = Path(__file__).resolve().parent


def iris() -> tuple[pd.DataFrame, str]:
    d = datasets.load_iris(as_frame=True)
    df = d.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    df["species"] = np.asarray(d.target_names)[d.target]
    return df.drop(columns=["target"]), "species"


def diabetes() -> tuple[pd.DataFrame, str]:
    d = datasets.load_diabetes(as_frame=True, scaled=False)
    return d.frame.rename(columns={"target": "progression"}), "progression"


def cancer() -> tuple[pd.DataFrame, str]:
    """Breast-cancer diagnosis as a messy table: numeric, categorical, missing values."""
    d = datasets.load_breast_cancer(as_frame=True)
    rng = np.random.default_rng(7)
    X = d.data.rename(columns=lambda c: c.replace(" ", "_"))
    keep = [c for c in X.columns if c.startswith("mean_") or c.startswith("worst_")]
    df = X[keep].copy()
    # Categorical columns as a clinic would record them, derived from measurements.
    df["size_class"] = pd.cut(X["mean_radius"], [0, 12, 16, np.inf],
                              labels=["small", "medium", "large"]).astype(str)
    df["texture_grade"] = pd.qcut(X["mean_texture"], 4, labels=list("ABCD")).astype(str)
    df["clinic"] = rng.choice(["north", "south", "east", "west"], len(df))
    # Missing values, as in real records: some measurements were never taken.
    for col in ("mean_smoothness", "worst_concavity", "mean_symmetry", "texture_grade"):
        df.loc[rng.random(len(df)) < 0.08, col] = np.nan
    df["diagnosis"] = np.asarray(d.target_names)[d.target]
    return df, "diagnosis"


BUILDERS = {"iris": iris, "diabetes": diabetes, "cancer": cancer}
# Kits whose split is their own: a series split in time (el_nino_data.py), spectra
# made by a documented generator (drug_spectra_data.py), events of detector hits kept
# whole (hep_tracking_data.py). Imported on use.
OWN_SPLIT = {"el_nino": "el_nino_data", "drug_spectra": "drug_spectra_data",
             "hep_tracking": "hep_tracking_data"}
# Kits whose data are files of their own beside the tables (images): the module writes
# them (`write(kits)`) and says what the public data folder holds (`public_files()`).
OWN_FILES = {"digits_images": "digits_images_data"}


def split(df: pd.DataFrame, target: str, classification: bool, seed: int = 42):
    """hidden train / private test, then public train / public test from hidden train."""
    strat = df[target] if classification else None
    hidden_train, private_test = train_test_split(df, test_size=0.3, random_state=seed,
                                                  stratify=strat)
    strat = hidden_train[target] if classification else None
    public_train, public_test = train_test_split(hidden_train, test_size=0.3,
                                                 random_state=seed, stratify=strat)
    return hidden_train, private_test, public_train, public_test


def tables(kit: str):
    """(hidden train, private test, public train, public test) of an example kit."""
    if kit in OWN_SPLIT:
        return importlib.import_module(f"{__package__}.{OWN_SPLIT[kit]}").tables()
    df, target = BUILDERS[kit]()
    classification = df[target].dtype == object
    return split(df, target, classification)


def public_files(kit: str) -> dict[str, bytes]:
    """{path in the kit: content} of an example kit's public data."""
    if kit in OWN_FILES:
        return importlib.import_module(f"{__package__}.{OWN_FILES[kit]}").public_files()
    _, _, public_train, public_test = tables(kit)
    return {"data/train.csv": public_train.to_csv(index=False).encode(),
            "data/test.csv": public_test.to_csv(index=False).encode()}


def write(kit: str) -> None:
    hidden_train, private_test, public_train, public_test = tables(kit)
    for folder, train, test in ((KITS / kit / "data", public_train, public_test),
                                (KITS / kit / "hidden" / "data", hidden_train, private_test)):
        folder.mkdir(parents=True, exist_ok=True)
        _write_if_changed(folder / "train.csv", train)
        _write_if_changed(folder / "test.csv", test)


def _write_if_changed(file: Path, df: pd.DataFrame) -> None:
    text = df.to_csv(index=False)
    if not file.is_file() or file.read_text() != text:
        file.write_text(text)


def main() -> None:
    for kit in (*BUILDERS, *OWN_SPLIT):
        write(kit)
        print(f"kits/{kit}: data/ (public) and hidden/data/ (runner only) written")
    craters.write(KITS)  # images and their labels (kits/craters.py)
    print(f"kits/{craters.KIT}: data/ (public) and hidden/data/ (runner only) written")
    for kit, module in OWN_FILES.items():  # image files and their labels
        importlib.import_module(f"{__package__}.{module}").write(KITS)
        print(f"kits/{kit}: data/ (public) and hidden/data/ (runner only) written")


if __name__ == "__main__":
    main()
