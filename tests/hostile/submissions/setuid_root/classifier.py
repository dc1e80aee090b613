# Tries to become root: setuid, setgid, and the setuid binaries of the image.
import os
import subprocess


class Classifier:
    def fit(self, X, y):
        errors = []
        for action in (lambda: os.setuid(0), lambda: os.setgid(0),
                       lambda: os.setgroups([0])):
            try:
                action()
            except OSError as e:
                errors.append(str(e))
                continue
            raise RuntimeError(f"BECAME ROOT: uid {os.getuid()}")
        for cmd in (["su", "-c", "id -u"], ["mount", "-t", "tmpfs", "x", "/mnt"]):
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=5,
                                   stdin=subprocess.DEVNULL)
            except OSError as e:
                errors.append(f"{cmd[0]}: {e}")
                continue
            if r.returncode == 0 and r.stdout.strip() == "0":
                raise RuntimeError(f"BECAME ROOT with {cmd[0]}")
            errors.append(f"{cmd[0]}: exit {r.returncode}")
        raise RuntimeError("privileges refused: " + "; ".join(errors))

    def predict_proba(self, X):
        raise AssertionError("never reached")
