"""What a Python environment holds, as JSON: the image manifest of the scoring image.

Run by build_image.sh inside the image being built (with the image's own python3) and
written to /etc/gitramp/manifest.json, so that a runner reads what an image holds
without running anything in it. The scorer also imports it to describe its own
environment (the local backend). Standard library only.

The manifest lists the operating system, its Debian packages and the Python packages,
each with its version and a SHA-256 over its files' paths and contents. Nothing in it
depends on when or where the image was built, so two builds that hold the same files
have the same manifest, whatever their image ids.

    python3 manifest.py [ROOT]     # ROOT: where dpkg's database is (default /)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from importlib import metadata

SCHEMA = 1
CHUNK = 1 << 20


def os_release(root: str = "/") -> str:
    """The distribution's name and version (PRETTY_NAME of os-release), else the kernel's
    system name."""
    for name in ("etc/os-release", "usr/lib/os-release"):
        try:
            with open(os.path.join(root, name), encoding="utf-8") as f:
                for line in f:
                    key, _, value = line.strip().partition("=")
                    if key == "PRETTY_NAME":
                        return value.strip().strip('"')
        except OSError:
            continue
    return platform.system()


def file_digest(path: str) -> str | None:
    """SHA-256 of a regular file's content, `link:<target>` for a symbolic link, None for
    anything else (or a file that is gone)."""
    try:
        if os.path.islink(path):
            return "link:" + os.readlink(path)
        if not os.path.isfile(path):
            return None
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(CHUNK):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


def files_digest(paths: dict[str, str]) -> str:
    """One SHA-256 over {path: content digest}, in path order."""
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(f"{path}\0{paths[path]}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def debian_packages(root: str = "/") -> dict[str, dict[str, str]]:
    """{package: {version, sha256}} of every installed Debian package, its digest over the
    files its dpkg list names that are still there (a build may strip documentation)."""
    status = os.path.join(root, "var/lib/dpkg/status")
    if not os.path.isfile(status):
        return {}
    with open(status, encoding="utf-8", errors="replace") as f:
        paragraphs = f.read().split("\n\n")
    out: dict[str, dict[str, str]] = {}
    info = os.path.join(root, "var/lib/dpkg/info")
    for para in paragraphs:
        fields: dict[str, str] = {}
        for line in para.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        name, version = fields.get("Package"), fields.get("Version")
        if not name or not version or not fields.get("Status", "").endswith(" installed"):
            continue
        listed: list[str] = []
        for list_name in (f"{name}.list", f"{name}:{fields.get('Architecture', '')}.list"):
            try:
                with open(os.path.join(info, list_name), encoding="utf-8",
                          errors="surrogateescape") as f:
                    listed = [line.rstrip("\n") for line in f if line.strip()]
                break
            except OSError:
                continue
        digests = {}
        for path in listed:
            d = file_digest(os.path.join(root, path.lstrip("/")))
            if d is not None:
                digests[path] = d
        out[name] = {"version": version, "sha256": files_digest(digests)}
    return dict(sorted(out.items()))


def normalise(name: str) -> str:
    """A distribution's name as pip compares them: lower case, runs of -_. as one -."""
    out, dash = [], False
    for c in name.lower():
        if c in "-_.":
            dash = True
            continue
        if dash and out:
            out.append("-")
        dash = False
        out.append(c)
    return "".join(out)


def python_packages(only: set[str] | None = None) -> dict[str, dict[str, str]]:
    """{distribution: {version, sha256}} of the Python packages this interpreter imports
    (the first of a name on sys.path), the digest over the files its RECORD lists with a
    hash (compiled .pyc files, written at install time, have none); `only`: these names."""
    out: dict[str, dict[str, str]] = {}
    for dist in metadata.distributions():
        name = normalise(dist.metadata.get("Name") or "")
        if not name or name in out or (only is not None and name not in only):
            continue
        digests = {}
        for f in dist.files or ():
            if f.hash is None:
                continue
            d = file_digest(str(dist.locate_file(f)))
            digests[str(f)] = d if d is not None else "missing"
        out[name] = {"version": dist.version or "", "sha256": files_digest(digests)}
    return dict(sorted(out.items()))


def build(root: str = "/", only: set[str] | None = None, debian: bool = True) -> dict:
    """The manifest of this interpreter's environment (and of the system at `root`)."""
    return {
        "schema": SCHEMA,
        "os": os_release(root),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "os_packages": debian_packages(root) if debian else {},
        "python_packages": python_packages(only),
    }


def digest(manifest: dict) -> str:
    """`sha256:<hex>` of a manifest, the same for the same content."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


if __name__ == "__main__":
    json.dump(build(sys.argv[1] if len(sys.argv) > 1 else "/"), sys.stdout, indent=1,
              sort_keys=True)
    sys.stdout.write("\n")
