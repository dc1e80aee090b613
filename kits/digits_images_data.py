"""Generates the `digits_images` example kit's data: scikit-learn's handwritten digits as
one image file per digit.

scikit-learn ships 1797 digits of 8 x 8 pixels with 17 grey levels (0 to 16). Each is
written as a 16 x 16 image of 8-bit grey: every pixel doubled in both directions and
the levels stretched to 0 to 240, saved with `numpy.save` (`<id>.npy`, read with
allow_pickle=False). The labels are CSV files of `id` (the image's file name in the
images folder) and `digit`.

The hidden training set and the private test set are split 70/30, stratified by digit;
the public training and test sets are split the same way from the hidden training set,
as for the other example kits (kits/make_data.py). The public folder holds only the
images of the public sets; the hidden folder holds every image. Deterministic: the
same bytes on every run, and a file already holding them is not rewritten.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

KITS = Path(__file__).resolve().parent
KIT = "digits_images"
TARGET = "digit"
IMAGES = "images"
SCALE = 2  # 8 x 8 -> 16 x 16


def images() -> tuple[np.ndarray, pd.DataFrame]:
    """(n, 16, 16) uint8 images, and the table of their ids and digits."""
    d = datasets.load_digits()
    big = np.kron(d.images, np.ones((1, SCALE, SCALE)))
    pixels = np.clip(big * 15, 0, 255).astype(np.uint8)
    ids = [f"{i:04d}.npy" for i in range(len(pixels))]
    return pixels, pd.DataFrame({"id": ids, TARGET: d.target.astype(int)})


def tables():
    """(hidden train, private test, public train, public test) tables of id and digit."""
    from .make_data import split  # imported here: make_data imports this module

    _, df = images()
    return split(df, TARGET, classification=True)


def _npy(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, image, allow_pickle=False)
    return buf.getvalue()


def files(hidden: bool) -> dict[str, bytes]:
    """{path in the data folder: content} of the hidden or the public data folder."""
    pixels, _ = images()
    hidden_train, private_test, public_train, public_test = tables()
    train, test = (hidden_train, private_test) if hidden else (public_train, public_test)
    out = {"train.csv": train.to_csv(index=False).encode(),
           "test.csv": test.to_csv(index=False).encode()}
    for name in pd.concat([train, test])["id"]:
        out[f"{IMAGES}/{name}"] = _npy(pixels[int(name.removesuffix(".npy"))])
    return out


def public_files() -> dict[str, bytes]:
    """{path in the kit: content} of the public data (what `gitramp init` writes)."""
    return {f"data/{path}": data for path, data in files(hidden=False).items()}


def write(kits: Path = KITS) -> None:
    for folder, hidden in ((kits / KIT / "data", False), (kits / KIT / "hidden" / "data", True)):
        (folder / IMAGES).mkdir(parents=True, exist_ok=True)
        for path, data in files(hidden).items():
            file = folder / path
            if not file.is_file() or file.read_bytes() != data:
                file.write_bytes(data)
