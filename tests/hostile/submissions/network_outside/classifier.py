# Tries to open connections to outside addresses by number.
import socket


class Classifier:
    def fit(self, X, y):
        errors = []
        for host, port in (("1.1.1.1", 443), ("8.8.8.8", 53), ("151.101.0.223", 443)):
            try:
                socket.create_connection((host, port), timeout=3).close()
            except OSError as e:
                errors.append(f"{host}:{port} {e}")
                continue
            raise RuntimeError(f"NETWORK REACHED: connected to {host}:{port}")
        raise RuntimeError("network blocked: " + "; ".join(errors))

    def predict_proba(self, X):
        raise AssertionError("never reached")
