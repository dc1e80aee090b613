"""Object detection in the scorer: labels and predictions as data, RAMP's detection
scores, and RAMP's bagging of detections.

The scorer holds detections per image: an object array with one float array per
image, (k, 3) rows of (x, y, radius) for the labels and (k, 4) rows of (confidence, x,
y, radius) for the predictions, `x` being the row and `y` the column (RAMP's layout,
scorer/workflows/object_detector.py). The submission writes its predictions as a long
table (image_index, confidence, x, y, radius) in a .npy file; `parse_outputs` reads it
back strictly, without pickle, with at most `MAX_OBJECTS` detections per image.

Every score is the one ramp-workflow 0.7.0 computes under the same name (compared in
tests/test_workflow_detection.py), quirks included:

- The IoU of two circles is rampwf's: its lens area adds the triangle term of the
  circle-circle intersection instead of subtracting it, so partly overlapping circles
  get a larger IoU than the geometric one; concentric or nested circles, and disjoint
  ones, get the geometric value.
- Precision, recall, OSPA and SCP keep the detections whose confidence is above
  `conf_threshold` (strictly), match them to the labels of their image by the
  Hungarian algorithm on 1 - IoU, and count a match when its IoU is above
  `iou_threshold` (strictly); MAD centre and radius average over the matches whose IoU
  is at least `iou_threshold`.
- Average precision ranks every detection by confidence (numpy's default argsort,
  reversed), matches each greedily to the label of best IoU in its image, and takes the
  area under the precision envelope (no confidence filter).
"""

from __future__ import annotations

import math

import numpy as np

from scorer.outputs import FoldOutput, InvalidOutput, read_folds
from scorer.workflows.object_detector import PREDICTION_COLUMNS, TRUTH_COLUMNS

MAX_OBJECTS = 100  # detections per image a submission may return
MAX_COORDINATE = 1e6  # |x|, |y| and radius, in pixels
BAG_IOU_THRESHOLD = 0.5  # RAMP's, when combining the folds' detections of one image


# -------------------------------------------------------------- labels and predictions
def empty(width: int) -> np.ndarray:
    return np.empty((0, width))


def per_image(table: np.ndarray, n_images: int, width: int) -> np.ndarray:
    """A checked long table (image_index first) as one (k, width) array per image, rows
    of each image in the table's order."""
    out = np.empty(n_images, dtype=object)
    index = table[:, 0].astype(np.int64) if len(table) else np.empty(0, dtype=np.int64)
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(n_images + 1))
    values = table[order, 1:]
    for i in range(n_images):
        out[i] = values[bounds[i]:bounds[i + 1]].reshape(-1, width)
    return out


def truth(y, where: str) -> np.ndarray:
    """Labels as a kit's data gives them (RAMP's: per image, a list of (x, y, radius)
    tuples) as one (k, 3) float array per image; `where` names the data in errors."""
    n = len(y)
    out = np.empty(n, dtype=object)
    for i in range(n):
        objs = y[i]
        try:
            arr = np.asarray([] if objs is None else objs, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: the objects of image {i} are not (x, y, radius) "
                             "tuples of numbers") from None
        arr = arr.reshape(0, 3) if arr.size == 0 else arr
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(f"{where}: the objects of image {i} have shape {arr.shape}; "
                             "expected a list of (x, y, radius) tuples")
        if not np.isfinite(arr).all() or (arr[:, 2] <= 0).any():
            raise ValueError(f"{where}: image {i} has an object {arr.tolist()!r}; expected "
                             "finite numbers and a positive radius")
        out[i] = arr
    return out


def truth_table(y: np.ndarray) -> np.ndarray:
    """Per-image labels as the long table (image_index, x, y, radius) the fold process
    reads (scorer/workflows/object_detector.py)."""
    parts = [np.column_stack([np.full(len(a), i, dtype=float), a]) for i, a in enumerate(y)
             if len(a)]
    return np.concatenate(parts) if parts else empty(len(TRUTH_COLUMNS))


def check_table(arr, name: str, n_images: int, max_objects: int = MAX_OBJECTS) -> np.ndarray:
    """A submission's detections, as loaded from `name`, checked row by row; returns them
    per image. Raises InvalidOutput naming the file, the row and what was expected."""
    layout = "(" + ", ".join(PREDICTION_COLUMNS) + ")"
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise InvalidOutput(f"{name}: detections of dtype {getattr(arr, 'dtype', '?')}; "
                            f"expected a table of numbers, one row {layout} per detection")
    if arr.ndim != 2 or arr.shape[1] != len(PREDICTION_COLUMNS):
        raise InvalidOutput(f"{name}: detections of shape {arr.shape}; expected (m, 5): one "
                            f"row {layout} per detection")
    arr = arr.astype(np.float64)
    if len(arr) > n_images * max_objects:
        raise InvalidOutput(f"{name}: {len(arr)} detections; expected at most {max_objects} "
                            f"per image ({n_images} images)")
    image, conf, x, y, radius = arr.T
    checks = (
        (~np.isfinite(arr).all(axis=1), "finite numbers (no NaN or infinity)"),
        ((image != np.floor(image)) | (image < 0) | (image >= n_images),
         f"an image_index that is an integer from 0 to {n_images - 1}"),
        ((conf < 0) | (conf > 1), "a confidence in [0, 1]"),
        ((np.abs(x) > MAX_COORDINATE) | (np.abs(y) > MAX_COORDINATE),
         f"x and y within ±{MAX_COORDINATE:g} pixels"),
        ((radius <= 0) | (radius > MAX_COORDINATE),
         f"a radius above 0 and at most {MAX_COORDINATE:g} pixels"),
    )
    for bad, expected in checks:
        if bad.any():
            row = int(np.argmax(bad))
            raise InvalidOutput(f"{name}: row {row} holds {arr[row].tolist()!r}; expected "
                                f"{layout} with {expected}")
    counts = np.bincount(image.astype(np.int64), minlength=n_images)
    if counts.max(initial=0) > max_objects:
        over = int(np.argmax(counts > max_objects))
        raise InvalidOutput(f"{name}: image {over} has {int(counts[over])} detections; "
                            f"expected at most {max_objects} per image")
    return per_image(arr, n_images, 4)


def parse_outputs(files: dict[str, bytes], n_folds: int, n_train: int,
                  n_test: int) -> list[FoldOutput]:
    """Every fold's detections on the training and test images, checked."""
    return read_folds(files, n_folds, n_train, n_test, check_table)


# ----------------------------------------------------------------------- geometry
SMALL = 256  # pairs of circles below which a Python loop beats numpy's overheads


def _iou(x1: float, y1: float, r1: float, x2: float, y2: float, r2: float) -> float:
    d = math.hypot(x2 - x1, y2 - y1)
    if d == 0 or d <= abs(r2 - r1):
        area = min(r1, r2) ** 2 * math.pi
    elif d >= r1 + r2:
        area = 0.0
    else:
        r1_2, r2_2 = r1 * r1, r2 * r2
        area = (r1_2 * math.acos((d * d + r1_2 - r2_2) / (2 * d * r1))
                + r2_2 * math.acos((d * d + r2_2 - r1_2) / (2 * d * r2))
                + 0.5 * math.sqrt((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2)
                                  * (d + r1 + r2)))
    return area / (math.pi * (r1 * r1 + r2 * r2) - area)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every circle of `a` (rows x, y, r) with every circle of `b`, as rampwf
    computes it (see the module's doc)."""
    if not len(a) or not len(b):
        return np.empty((len(a), len(b)))
    if len(a) * len(b) <= SMALL:
        rows_b = b.tolist()
        return np.array([[_iou(*ca, *cb) for cb in rows_b] for ca in a.tolist()])
    x1, y1, r1 = (c[:, None] for c in a.T)
    x2, y2, r2 = (c[None, :] for c in b.T)
    d = np.hypot(x2 - x1, y2 - y1)
    d, r1, r2 = np.broadcast_arrays(d, r1, r2)
    inside = (d == 0) | (d <= np.abs(r2 - r1))
    apart = ~inside & (d >= r1 + r2)
    lens = ~inside & ~apart
    area = np.zeros(d.shape)
    area[inside] = np.minimum(r1, r2)[inside] ** 2 * math.pi
    if lens.any():
        dd, ra, rb = d[lens], r1[lens], r2[lens]
        ra2, rb2 = ra * ra, rb * rb
        part_a = ra2 * np.arccos((dd * dd + ra2 - rb2) / (2 * dd * ra))
        part_b = rb2 * np.arccos((dd * dd + rb2 - ra2) / (2 * dd * rb))
        kite = 0.5 * np.sqrt((-dd + ra + rb) * (dd + ra - rb) * (dd - ra + rb) * (dd + ra + rb))
        area[lens] = part_a + part_b + kite
    union = math.pi * (r1 * r1 + r2 * r2) - area
    return area / union


def match(a: np.ndarray, b: np.ndarray):
    """The best one-to-one matching of circles `a` to circles `b` (Hungarian, on
    1 - IoU): indices into a, indices into b, and their IoUs."""
    from scipy.optimize import linear_sum_assignment

    ious = iou_matrix(a, b)
    ia, ib = linear_sum_assignment(1 - ious)
    return ia, ib, (ious[ia, ib] if ia.size and ib.size else np.array([]))


def _above(y_pred, conf_threshold: float) -> list[np.ndarray]:
    return [p[p[:, 0] > conf_threshold, 1:] for p in y_pred]


def _in_patch(circles: np.ndarray, minipatch) -> np.ndarray:
    row_min, row_max, col_min, col_max = minipatch
    rows, cols = circles[:, 0], circles[:, 1]
    return (rows >= row_min) & (rows < row_max) & (cols >= col_min) & (cols < col_max)


def _patch(images, minipatch) -> list[np.ndarray]:
    return list(images) if minipatch is None else [c[_in_patch(c, minipatch)] for c in images]


# ------------------------------------------------------------------------- scores
def _counts(y_true, y_pred, iou_threshold: float) -> tuple[int, int, int]:
    n_true = n_pred = n_correct = 0
    for t, p in zip(y_true, y_pred, strict=True):
        _, _, ious = match(t, p)
        n_true, n_pred = n_true + len(t), n_pred + len(p)
        n_correct += int((ious > iou_threshold).sum())
    return n_true, n_pred, n_correct


def _ratio(num: float, den: float) -> float:
    return num / den if den else float("nan")


def detection_precision(y_true, y_pred, conf_threshold=0.5, iou_threshold=0.5,
                        minipatch=None) -> float:
    """RAMP's DetectionPrecision: matched detections over detections (those in the
    minipatch, if one is given)."""
    pred = _patch(_above(y_pred, conf_threshold), minipatch)
    _, n_pred, n_correct = _counts(y_true, pred, iou_threshold)
    return _ratio(n_correct, n_pred)


def detection_recall(y_true, y_pred, conf_threshold=0.5, iou_threshold=0.5,
                     minipatch=None) -> float:
    """RAMP's DetectionRecall: matched labels over labels (in the minipatch)."""
    truth_ = _patch(y_true, minipatch)
    n_true, _, n_correct = _counts(truth_, _above(y_pred, conf_threshold), iou_threshold)
    return _ratio(n_correct, n_true)


def _located(y_true, y_pred, iou_threshold):
    true_rows, pred_rows = [], []
    for t, p in zip(y_true, y_pred, strict=True):
        it, ip, ious = match(t, p)
        keep = ious >= iou_threshold
        true_rows.append(t[it[keep]])
        pred_rows.append(p[ip[keep]])
    return np.concatenate(true_rows or [empty(3)]), np.concatenate(pred_rows or [empty(3)])


def mad_center(y_true, y_pred, conf_threshold=0.5, iou_threshold=0.5, minipatch=None):
    """RAMP's MADCenter: the mean distance between matched centres over the label's
    radius."""
    t, p = _located(_patch(y_true, minipatch), _above(y_pred, conf_threshold), iou_threshold)
    if not len(t):
        return float("nan")
    d = np.sqrt((p[:, 0] - t[:, 0]) ** 2 + (p[:, 1] - t[:, 1]) ** 2)
    return float(np.abs(d / t[:, 2]).mean())


def mad_radius(y_true, y_pred, conf_threshold=0.5, iou_threshold=0.5, minipatch=None):
    """RAMP's MADRadius: the mean relative error of the matched radii."""
    t, p = _located(_patch(y_true, minipatch), _above(y_pred, conf_threshold), iou_threshold)
    if not len(t):
        return float("nan")
    return float(np.abs((p[:, 2] - t[:, 2]) / t[:, 2]).mean())


def ospa(y_true, y_pred, conf_threshold=0.5, minipatch=None) -> float:
    """RAMP's OSPA score: 1 - (sum of the matched IoUs, counted once for the label and
    once for the detection) / (labels + detections), over all images (1 when there
    are neither)."""
    iou_sum = total = 0.0
    for t, p in zip(y_true, _above(y_pred, conf_threshold), strict=True):
        if not len(t) and not len(p):
            continue
        t_in = _in_patch(t, minipatch) if minipatch is not None else np.ones(len(t), bool)
        p_in = _in_patch(p, minipatch) if minipatch is not None else np.ones(len(p), bool)
        total += int(t_in.sum() + p_in.sum())
        if not len(t) or not len(p):
            continue
        it, ip, ious = match(t, p)
        iou_t, iou_p = np.zeros(len(t)), np.zeros(len(p))
        iou_t[it], iou_p[ip] = ious, ious
        seen_t, seen_p = np.zeros(len(t), bool), np.zeros(len(p), bool)
        seen_t[it], seen_p[ip] = True, True
        iou_sum += iou_t[seen_t & t_in].sum() + iou_p[seen_p & p_in].sum()
    return 1 - (iou_sum / total if total else 0)


def _disk(x: float, y: float, radius: float, shape) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (rows, cols) strictly inside the circle, within the image (rampwf's
    pixel rule, from scikit-image's ellipse)."""
    top, left = max(math.ceil(x - radius), 0), max(math.ceil(y - radius), 0)
    bottom = min(math.floor(x + radius), shape[0] - 1)
    right = min(math.floor(y + radius), shape[1] - 1)
    if bottom < top or right < left:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rows = np.arange(bottom - top + 1, dtype=float)[:, None] - (x - top)
    cols = np.arange(right - left + 1, dtype=float)[None, :] - (y - left)
    inside = (rows / radius) ** 2 + (cols / radius) ** 2 < 1
    r, c = np.nonzero(inside)
    return r + top, c + left


def _circle_map(circles: np.ndarray, shape) -> np.ndarray:
    out = np.zeros(shape)
    for x, y, radius in circles:
        r, c = _disk(x, y, radius, shape)
        if r.size:
            out[r, c] += 1 / r.size
    return out


def scp(y_true, y_pred, shape=None, conf_threshold=0.5, minipatch=None) -> float:
    """RAMP's SCP: each circle drawn on a map of the image's `shape` with total mass 1,
    labels and detections on separate maps; the summed absolute difference of the maps
    over their summed mass (within the minipatch)."""
    if shape is None:
        raise ValueError("scp needs params: {shape: [height, width]} (the images' shape)")
    shape = tuple(int(s) for s in shape)
    diff = mass = 0.0
    for t, p in zip(y_true, _above(y_pred, conf_threshold), strict=True):
        map_t, map_p = _circle_map(t, shape), _circle_map(p, shape)
        if minipatch is not None:
            r0, r1, c0, c1 = minipatch
            map_t, map_p = map_t[r0:r1, c0:c1], map_p[r0:r1, c0:c1]
        diff += np.abs(map_t - map_p).sum()
        mass += map_t.sum() + map_p.sum()
    return diff / mass if mass else float("nan")


def average_precision(y_true, y_pred, iou_threshold=0.5) -> float:
    """RAMP's DetectionAveragePrecision: detections of every image ranked by confidence,
    each a hit when its best-IoU label (first of equals) is above `iou_threshold` and
    not yet hit; the area under the precision envelope of the recall curve."""
    # (image, confidence, x, y, radius, row in its image), images in order
    rows = [np.column_stack([np.full(len(p), i, dtype=float), p, np.arange(len(p))])
            for i, p in enumerate(y_pred) if len(p)]
    if not rows:
        return _area(np.array([]), np.array([]))
    flat = np.vstack(rows)
    ranked = flat[np.argsort(flat[:, 1])[::-1], :]
    ious_of = {i: iou_matrix(y_true[i], p[:, 1:]) for i, p in enumerate(y_pred)
               if len(p) and len(y_true[i])}
    hits = np.zeros(len(ranked), dtype=bool)
    matched = set()
    for k, (image, row) in enumerate(ranked[:, [0, 5]].astype(np.int64)):
        if image not in ious_of:
            continue
        ious = ious_of[image][:, row]
        best = int(np.argmax(ious))
        if ious[best] > iou_threshold and (image, best) not in matched:
            hits[k] = True
            matched.add((image, best))
    n_true = sum(len(t) for t in y_true)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.cumsum(hits) / n_true
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return _area(precision, recall)


def _area(precision: np.ndarray, recall: np.ndarray) -> float:
    rec = np.concatenate(([0.0], recall, [1.0]))
    pre = np.concatenate(([0.0], precision, [0.0]))
    pre = np.maximum.accumulate(pre[::-1])[::-1]  # the precision envelope
    steps = np.where(rec[1:] != rec[:-1])[0]
    return float(np.sum((rec[steps + 1] - rec[steps]) * pre[steps + 1]))


# name -> (function, lower is better, RAMP's class names)
SCORES = {
    "detection_average_precision": (average_precision, False,
                                    ("DetectionAveragePrecision", "AverageDetectionPrecision")),
    "detection_precision": (detection_precision, False, ("DetectionPrecision",)),
    "detection_recall": (detection_recall, False, ("DetectionRecall",)),
    "mad_center": (mad_center, True, ("MADCenter",)),
    "mad_radius": (mad_radius, True, ("MADRadius",)),
    "ospa": (ospa, True, ("OSPA",)),
    "scp": (scp, True, ("SCP",)),
}


# ------------------------------------------------------------------------ bagging
def combine(models: list[np.ndarray], iou_threshold: float = BAG_IOU_THRESHOLD) -> np.ndarray:
    """RAMP's combination of several models' detections on one image. A single model's
    are kept as they are. Otherwise every pair of models is matched (Hungarian on
    1 - IoU) and the pairs above `iou_threshold` link detections into groups
    (connected components, ordered by their first detection); each group becomes one
    detection: centre and radius averaged with the confidences as weights, confidence
    the sum of the group's confidences over the number of models (all-zero
    confidences: a plain mean). A detection no other model matches is dropped."""
    if len(models) == 1:
        return models[0]
    edges = []
    for m1 in range(len(models)):
        for m2 in range(m1 + 1, len(models)):
            i1, i2, ious = match(models[m1][:, 1:], models[m2][:, 1:])
            keep = ious > iou_threshold
            edges += [((m1, int(a)), (m2, int(b))) for a, b in zip(i1[keep], i2[keep],
                                                                   strict=True)]
    if not edges:
        return empty(4)
    nodes = sorted({n for e in edges for n in e})
    parent = {n: n for n in nodes}

    def root(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict = {}
    for n in nodes:  # sorted: groups in order of their first node, nodes in order
        groups.setdefault(root(n), []).append(n)
    out = []
    for members in groups.values():
        preds = np.array([models[m][i] for m, i in members])
        if preds[:, 0].sum() == 0:
            out.append(np.mean(preds, axis=0))
        else:
            centre = np.average(preds[:, 1:], weights=preds[:, 0], axis=0)
            out.append(np.insert(centre, 0, preds[:, 0].sum() / len(models)))
    return np.array(out).reshape(-1, 4)


def bag(per_fold: list[np.ndarray], n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Bagged detections of `n_images` images from the folds' detections, each a
    (indices, per-image detections) pair; returns (images any fold predicted, their
    combined detections)."""
    models: list[list[np.ndarray]] = [[] for _ in range(n_images)]
    for idx, preds in per_fold:
        for i, p in zip(idx, preds, strict=True):
            models[int(i)].append(p)
    seen = np.array([bool(m) for m in models], dtype=bool)
    combined = np.empty(int(seen.sum()), dtype=object)
    for k, i in enumerate(np.flatnonzero(seen)):
        combined[k] = combine(models[i])
    return seen, combined


def bagged_scores(scores, preds, y_train: np.ndarray, y_test: np.ndarray):
    """The detection counterpart of scorer.scoring.bagged_scores: bagged valid combines,
    for each training image, the detections of the folds that held it out (images
    never held out are left out); bagged test combines the fold models' detections on
    each test image. Combining is RAMP's (`combine`)."""
    seen, valid = bag([(p.valid_idx, p.valid_pred) for p in preds], len(y_train))
    everywhere = np.arange(len(y_test))
    _, test = bag([(everywhere, p.test_pred) for p in preds], len(y_test))
    return {"valid": {s.name: s(y_train[seen], valid) for s in scores},
            "test": {s.name: s(y_test, test) for s in scores}}
