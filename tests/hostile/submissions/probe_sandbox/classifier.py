# Not an attack: reports what the sandbox looks like from inside, as its error message.
import json
import os
import resource
import socket


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()


def _writable(path):
    try:
        with open(os.path.join(path, ".probe"), "w"):
            pass
        os.remove(os.path.join(path, ".probe"))
        return True
    except OSError:
        return False


class Classifier:
    def fit(self, X, y):
        facts = {
            "uid": os.getuid(), "gid": os.getgid(),
            "no_new_privs": _status("NoNewPrivs"), "cap_eff": _status("CapEff"),
            "cap_bnd": _status("CapBnd"),
            "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS",
                                                       "OPENBLAS_NUM_THREADS",
                                                       "MKL_NUM_THREADS")},
            "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "core": resource.getrlimit(resource.RLIMIT_CORE)[0],
            "interfaces": sorted(name for _, name in socket.if_nameindex()),
            "writable": {p: _writable(p) for p in ("/", "/usr", "/etc", "/tmp", "/dev/shm",
                                                   "/inputs", "/submission")},
            "inputs": sorted(os.listdir("/inputs")),
            "env_keys": sorted(os.environ),
        }
        raise RuntimeError("PROBE" + json.dumps(facts, sort_keys=True) + "PROBE")

    def predict_proba(self, X):
        raise AssertionError("never reached")
