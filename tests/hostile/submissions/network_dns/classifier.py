# Tries to resolve a public name.
import socket


class Classifier:
    def fit(self, X, y):
        try:
            socket.setdefaulttimeout(3)
            found = socket.getaddrinfo("pypi.org", 443)
        except OSError as e:
            raise RuntimeError(f"network blocked: DNS failed ({e})") from None
        raise RuntimeError(f"NETWORK REACHED: pypi.org is {found[0][4]}")

    def predict_proba(self, X):
        raise AssertionError("never reached")
