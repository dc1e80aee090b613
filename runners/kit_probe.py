"""Runs inside a scoring image (`python3 -c`, no network, standard library only) for
`gitramp image build --kit` (scorer/backends/kit_image.py; see runners/IMAGE.md).

    inventory        prints, as JSON, the image's Python, C library, machine and every
                     installed distribution with its version
    check NAME...    imports every top-level module of each named distribution, read
                     from its installed dist-info (top_level.txt, else RECORD), each
                     distribution in a fresh interpreter; checks that no distribution
                     is installed twice. Prints `ok NAME ...` or `FAIL NAME: why` per
                     line, and exits 1 if any failed.
"""

import importlib.metadata as md
import json
import os
import platform
import re
import subprocess
import sys

IMPORT_TIMEOUT = 600  # seconds for one distribution's imports


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _dotted(name):
    return all(part.isidentifier() for part in name.split("."))


def top_level_names(dist):
    """The modules a distribution puts at the top of sys.path, from its dist-info."""
    text = dist.read_text("top_level.txt")
    if text and text.strip():
        names = {line.strip().replace("/", ".") for line in text.splitlines()}
        return sorted(n for n in names if n and _dotted(n))
    names = set()
    for f in dist.files or ():
        parts = f.parts
        if not parts or parts[0] in ("..", "__pycache__"):
            continue
        if parts[0].endswith((".dist-info", ".data", ".egg-info")):
            continue
        if len(parts) == 1:  # a module file at the top: x.py, or an extension x.cpython-...so
            stem, _, suffix = parts[0].partition(".")
            if suffix in ("py",) or suffix.endswith(("so", "pyd")):
                names.add(stem)
        elif parts[-1].endswith((".py", ".so", ".pyd")):  # a package (or namespace) folder
            names.add(parts[0])
    return sorted(n for n in names if n.isidentifier())


def inventory():
    dists = {}
    for d in md.distributions():
        name = d.metadata["Name"]
        if name:
            dists.setdefault(canonical(name), d.version)
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else ""
    print(json.dumps({
        "python": "{}.{}".format(*sys.version_info[:2]),
        "implementation": sys.implementation.name,
        "libc": libc or "",
        "machine": platform.machine(),
        "dists": dists,
    }, sort_keys=True))
    return 0


def _duplicates():
    seen = {}
    for d in md.distributions():
        name = d.metadata["Name"]
        if name:
            seen.setdefault(canonical(name), []).append(d.version)
    return {n: v for n, v in seen.items() if len(v) > 1}


def check(names):
    failed = 0
    for name, versions in sorted(_duplicates().items()):
        print(f"FAIL {name}: installed twice ({', '.join(versions)})")
        failed += 1
    for name in names:
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            print(f"FAIL {name}: not installed")
            failed += 1
            continue
        modules = top_level_names(dist)
        if not modules:
            print(f"ok {name} {dist.version}: installs no module to import")
            continue
        code = "".join(f"import {m}\n" for m in modules)
        listed = ", ".join(modules)
        try:
            done = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=IMPORT_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"FAIL {name}: importing {listed} took over {IMPORT_TIMEOUT} s")
            failed += 1
            continue
        if done.returncode:
            lines = done.stdout.decode(errors="replace").strip().splitlines()
            why = lines[-1] if lines else f"exit status {done.returncode}"
            print(f"FAIL {name}: import {listed}: {why}")
            failed += 1
        else:
            print(f"ok {name} {dist.version}: import {listed}")
    return 1 if failed else 0


def main(argv):
    if argv[:1] == ["inventory"] and len(argv) == 1:
        return inventory()
    if argv[:1] == ["check"]:
        return check(argv[1:])
    print("usage: kit_probe.py inventory | check NAME...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
