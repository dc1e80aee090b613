import numpy as np


class Clusterer:
    """The hits of one particle lie at nearly the same angle around the origin: cluster
    each event's hits by their angle, chaining hits less than `eps` radians apart (a
    one-dimensional DBSCAN with min_samples=1, on the circle, so that -pi and pi
    meet)."""

    def __init__(self, eps=0.07):
        self.eps = eps

    def fit(self, X, y):
        pass  # nothing to learn: the angle says it all (nearly)

    def predict_single_event(self, X_event):
        # X_event: layer, x, y (the workflow took the event id off)
        phi = np.arctan2(X_event[:, 2], X_event[:, 1])
        order = np.argsort(phi)
        ordered = phi[order]
        ids = np.concatenate([[0], np.cumsum(np.diff(ordered) > self.eps)])
        if len(ids) > 1 and ordered[0] + 2 * np.pi - ordered[-1] <= self.eps:
            ids[ids == ids[-1]] = 0  # the cluster across -pi / pi
        out = np.empty(len(phi), dtype=int)
        out[order] = ids
        return out
