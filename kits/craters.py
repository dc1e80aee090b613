"""Generates the `mars_craters` example kit's data: small images of craters on noise.

Each image is 64 x 64 pixels of 8-bit grey: a smooth background (a random tilt of the
light) plus Gaussian noise, with 0 to 4 craters. A crater is a circle of radius 3 to 10
pixels whose inside is darker than the ground and whose rim, a ring about one pixel
wide just inside the circle, is brighter; how much varies from crater to crater, so
some are faint. Craters overlap at most a little (geometric IoU below 0.1), and their
centres lie inside the image, though a circle may run past its edge.

Labels are RAMP's: per image, a list of (x, y, radius) where x is the row and y the
column of the centre, in pixels (floats: centres and radii are not whole pixels).

For each of the public and hidden folders, the images are in `data/<split>.npy`
((n, 64, 64) uint8, read with allow_pickle=False) and the labels in `data/<split>.csv`,
one row per crater: image_index, x, y, radius. The hidden training set (400 images)
and the private test set (200) are drawn apart; the public training (200) and test
(100) sets are the first images of the hidden training set. Deterministic: the same
files on every run. `python -m kits.make_data` writes them with the other kits' data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

KITS = Path(__file__).resolve().parent
KIT = "mars_craters"
SIZE = 64
MAX_CRATERS = 4
RADIUS = (3.0, 10.0)
COUNTS = {"hidden_train": 400, "private_test": 200, "public_train": 200, "public_test": 100}


def _overlap(a, b) -> float:
    """Geometric IoU of two circles (x, y, r), for keeping craters apart."""
    (x1, y1, r1), (x2, y2, r2) = a, b
    d = float(np.hypot(x1 - x2, y1 - y2))
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        inter = np.pi * min(r1, r2) ** 2
    else:
        a1 = r1 * r1 * np.arccos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
        a2 = r2 * r2 * np.arccos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
        inter = a1 + a2 - 0.5 * np.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2)
                                        * (d + r1 + r2))
    return float(inter / (np.pi * (r1 * r1 + r2 * r2) - inter))


def image(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """One image and its craters."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    tilt = rng.normal(0, 0.3, 2)
    picture = 110 + tilt[0] * (rows - SIZE / 2) + tilt[1] * (cols - SIZE / 2)
    craters: list[tuple[float, float, float]] = []
    for _ in range(int(rng.integers(0, MAX_CRATERS + 1))):
        for _attempt in range(20):
            r = float(rng.uniform(*RADIUS))
            c = (float(rng.uniform(0, SIZE - 1)), float(rng.uniform(0, SIZE - 1)), r)
            if all(_overlap(c, other) < 0.1 for other in craters):
                craters.append(c)
                break
    for x, y, r in craters:
        dist = np.hypot(rows - x, cols - y)
        depth, rim = rng.uniform(15, 45), rng.uniform(20, 50)
        picture -= depth * (dist < r - 1)
        picture += rim * ((dist >= r - 1.5) & (dist < r))
    picture += rng.normal(0, 12, picture.shape)
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8), craters


def draw(n: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """n images and their labels table (image_index, x, y, radius)."""
    rng = np.random.default_rng(seed)
    images, rows = [], []
    for i in range(n):
        picture, craters = image(rng)
        images.append(picture)
        rows += [(i, round(x, 3), round(y, 3), round(r, 3)) for x, y, r in craters]
    return np.stack(images), pd.DataFrame(rows, columns=["image_index", "x", "y", "radius"])


def splits() -> dict[str, tuple[np.ndarray, pd.DataFrame]]:
    hidden_images, hidden_labels = draw(COUNTS["hidden_train"], seed=11)
    test_images, test_labels = draw(COUNTS["private_test"], seed=12)
    n_train, n_test = COUNTS["public_train"], COUNTS["public_test"]
    public_test_labels = hidden_labels[(hidden_labels.image_index >= n_train)
                                       & (hidden_labels.image_index < n_train + n_test)]
    public_test_labels = public_test_labels.assign(
        image_index=public_test_labels.image_index - n_train)
    return {"hidden/data/train": (hidden_images, hidden_labels),
            "hidden/data/test": (test_images, test_labels),
            "data/train": (hidden_images[:n_train],
                           hidden_labels[hidden_labels.image_index < n_train]),
            "data/test": (hidden_images[n_train:n_train + n_test], public_test_labels)}


def write(kits: Path = KITS) -> None:
    for stem, (images, labels) in splits().items():
        base = kits / KIT / stem
        base.parent.mkdir(parents=True, exist_ok=True)
        npy, csv = base.with_suffix(".npy"), base.with_suffix(".csv")
        text = labels.to_csv(index=False)
        if not csv.is_file() or csv.read_text() != text:
            csv.write_text(text)
        if not npy.is_file() or not np.array_equal(np.load(npy, allow_pickle=False), images):
            np.save(npy, images, allow_pickle=False)


if __name__ == "__main__":
    write()
    print(f"kits/{KIT}: data/ (public) and hidden/data/ (runner only) written")
