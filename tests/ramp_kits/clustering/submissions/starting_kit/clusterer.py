import numpy as np


def _angle_clusters(phi, eps):
    order = np.argsort(phi)
    ordered = phi[order]
    ids = np.concatenate([[0], np.cumsum(np.diff(ordered) > eps)])
    if len(ids) > 1 and ordered[0] + 2 * np.pi - ordered[-1] <= eps:
        ids[ids == ids[-1]] = 0
    out = np.empty(len(phi), dtype=int)
    out[order] = ids
    return out


class Clusterer:
    """Chains each event's hits by angle; the largest gap allowed is learned from the
    training tracks (a quantile of the angle steps between a track's hits), so that
    each fold's model differs a little and bagging averages different ids."""

    def fit(self, X, y):
        steps = []
        for event in np.unique(y[:, 0]):
            rows = y[:, 0] == event
            phi = np.arctan2(X[rows, 3], X[rows, 2])
            for track in np.unique(y[rows, 1]):
                steps.extend(np.abs(np.diff(np.sort(phi[y[rows, 1] == track]))))
        self.eps = float(np.quantile(steps, 0.97))

    def predict_single_event(self, X_event):
        return _angle_clusters(np.arctan2(X_event[:, 2], X_event[:, 1]), self.eps)
