"""A kit's image: the base scoring image plus the kit's `requirements:` as one more
layer, installed with their dependencies from a wheel folder, with no network.

1. The base image (gitramp-scorer:<recipe hash>, runners/build_image.sh) tells what it
   is: its CPython version, C library, machine and installed distributions
   (`kit_probe.py inventory`, run in it).
2. `fill_wheels`, on a machine that reaches PyPI (or a mirror; pip's own configuration
   is honoured): `pip download` of the requirements and all their dependencies into a
   wheel folder, binary wheels only, for the image's platform (CPython of the image,
   manylinux up to its glibc), with every distribution of the base pinned to the
   base's version as a constraint. A folder can be filled once and carried.
3. `build_kit_image`: a container of the base image with no network runs pip (this
   Python's own pip, mounted read-only) as root: `pip install --no-index --find-links
   <folder>` with the same constraints. That pip sees the base's distributions as
   installed, so it installs only what is missing and never a second copy of what the
   base holds; a requirement that needs another version of a base package fails to
   resolve. The container's changes are committed as one layer (user, command and
   environment of the base kept), the image is smoke-tested (`kit_probe.py check`:
   every requirement's top-level modules, from its installed dist-info, imported as
   the submission user on a read-only root, and no distribution installed twice), and
   only then tagged. Any failure removes the image and raises KitImageError naming the
   package.

`gitramp image build --kit DIR` runs these (gitramp/commands/image.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from scorer.backends.docker_image import RECIPE_DIR, UID, normalise_requirements
from scorer.errors import GitrampError

PROBE = RECIPE_DIR / "kit_probe.py"
INSTALL = RECIPE_DIR / "kit_install.sh"  # what runs in the build container
MANIFEST = RECIPE_DIR / "manifest.py"  # rewritten in the kit image: it describes the image
# where pip's folders are mounted in the build container (under its tmpfs /tmp, so
# nothing of them lands in the committed layer); kit_install.sh names the same paths
PIP_MOUNT, WHEELS_MOUNT = "/tmp/gitramp-pip", "/tmp/gitramp-wheels"
BUILD_MOUNT = "/tmp/gitramp-build"
LEGACY_MANYLINUX = {"manylinux2014": 17, "manylinux2010": 12, "manylinux1": 5}
LEGACY_ARCHES = {"manylinux2014": ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l"),
                 "manylinux2010": ("x86_64", "i686"), "manylinux1": ("x86_64", "i686")}


class KitImageError(GitrampError):
    """A kit image cannot be built; the message names the package and what to do."""


def default_wheels_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "gitramp" / "wheels"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class BaseInventory:
    """What the base image holds, as `kit_probe.py inventory` reports it."""

    python: str  # "3.11"
    implementation: str  # "cpython"
    libc: str  # "glibc 2.36"
    machine: str  # "x86_64"
    dists: dict[str, str]  # canonical name -> version

    @classmethod
    def from_json(cls, text: str) -> BaseInventory:
        raw = json.loads(text)
        return cls(python=raw["python"], implementation=raw["implementation"],
                   libc=raw["libc"], machine=raw["machine"],
                   dists={canonical(k): v for k, v in raw["dists"].items()})


def parse_requirements(requirements: Sequence[str]) -> list[Requirement]:
    """The kit's requirements as PEP 508 requirements; anything else (pip options,
    URLs, local paths) is refused, since the build installs from a wheel folder."""
    out = []
    for line in normalise_requirements(requirements):
        try:
            req = Requirement(line)
        except InvalidRequirement as e:
            raise KitImageError(f"kit requirement {line!r} is not a package requirement "
                                f"such as 'seaborn==0.13.2' ({str(e).splitlines()[0]})") from None
        if req.url:
            raise KitImageError(f"kit requirement {line!r} points at a URL; the image is "
                                "built from a wheel folder: name the package and version")
        out.append(req)
    return out


def check_against_base(requirements: Sequence[Requirement], base: BaseInventory) -> None:
    """A requirement on a package of the base must accept the base's version: the base
    is shared by every kit and its versions are fixed (runners/requirements.txt)."""
    for req in requirements:
        have = base.dists.get(canonical(req.name))
        if have is None or not req.specifier:
            continue
        try:
            ok = req.specifier.contains(Version(have), prereleases=True)
        except InvalidVersion:
            ok = req.specifier.contains(have, prereleases=True)
        if not ok:
            raise KitImageError(
                f"kit requirement {str(req)!r} excludes the scoring image's own "
                f"{req.name} {have}: the base image's packages are fixed; require a "
                f"version that admits {have}, or change runners/requirements.txt")


def constraints(base: BaseInventory) -> str:
    """pip constraints pinning every distribution of the base to its version."""
    return "".join(f"{name}=={version}\n" for name, version in sorted(base.dists.items()))


def platform_tags(base: BaseInventory) -> list[str]:
    """The manylinux platform tags whose wheels run in the base: every glibc 2.x from
    the base's down to 2.5, and the legacy names of the older ones."""
    if base.implementation != "cpython":
        raise KitImageError(f"the base image runs {base.implementation}; kit images "
                            "need CPython")
    m = re.fullmatch(r"glibc (\d+)\.(\d+)", base.libc.strip())
    if not m or m.group(1) != "2":
        raise KitImageError(f"the base image's C library is {base.libc or 'unknown'!r}; "
                            "kit images need glibc 2.x (manylinux wheels)")
    minor, arch = int(m.group(2)), base.machine
    tags = [f"manylinux_2_{v}_{arch}" for v in range(minor, 4, -1)]
    tags += [f"{legacy}_{arch}" for legacy, v in LEGACY_MANYLINUX.items()
             if v <= minor and arch in LEGACY_ARCHES[legacy]]
    return tags


def download_args(base: BaseInventory) -> list[str]:
    """pip options that select wheels for the base's interpreter and platform only."""
    major, minor = base.python.split(".")
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version",
            base.python, "--abi", f"cp{major}{minor}"]
    for tag in platform_tags(base):
        args += ["--platform", tag]
    return args


def pip_dir() -> Path:
    """This Python's pip package; it runs the offline install inside the image (which
    has no pip of its own)."""
    spec = importlib.util.find_spec("pip")
    if spec is None or not spec.origin:
        raise KitImageError(f"building a kit image runs pip, and {sys.executable} has "
                            "none: install it (python -m ensurepip)")
    return Path(spec.origin).parent


def _docker(args: Sequence[str], *, capture: bool = True, check: bool = False,
            timeout: float | None = None) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(["docker", *args], capture_output=capture, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError:
        raise KitImageError("building a kit image needs Docker; no docker command "
                            "found") from None
    if check and done.returncode:
        raise KitImageError(f"`docker {args[0]}` failed: "
                            + ((done.stderr or "").strip() or f"exit {done.returncode}"))
    return done


def inventory(base_tag: str) -> BaseInventory:
    done = _docker(["run", "--rm", "--network", "none", base_tag, "python3", "-c",
                    PROBE.read_text(), "inventory"])
    if done.returncode:
        raise KitImageError(f"could not read what {base_tag} holds: "
                            + (done.stderr.strip() or f"exit {done.returncode}"))
    return BaseInventory.from_json(done.stdout)


def _write_inputs(folder: Path, requirements: Sequence[Requirement],
                  base: BaseInventory) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
    (folder / "constraints.txt").write_text(constraints(base))


def fill_wheels(requirements: Sequence[str], base: BaseInventory, wheels: Path,
                python: str = sys.executable, pip_args: Sequence[str] = ()) -> None:
    """Download into `wheels` the wheels the requirements need, with their dependencies,
    for the base's platform (needs PyPI or the index pip is configured with; `pip_args`
    may name another, e.g. --no-index --find-links DIR)."""
    reqs = parse_requirements(requirements)
    check_against_base(reqs, base)
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gitramp-kit-") as tmp:
        _write_inputs(Path(tmp), reqs, base)
        done = subprocess.run([python, "-m", "pip", "download", "--disable-pip-version-check",
                               "--dest", str(wheels), "--find-links", str(wheels),
                               *download_args(base), *pip_args,
                               "-c", str(Path(tmp) / "constraints.txt"),
                               "-r", str(Path(tmp) / "requirements.txt")], check=False)
    if done.returncode:
        raise KitImageError(
            f"could not fill the wheel folder {wheels} with "
            f"{', '.join(str(r) for r in reqs)} and their dependencies (pip exit "
            f"{done.returncode}; its message is above): check the names and versions, "
            "and that an index is reachable")


def build_container_prefix(tag: str) -> str:
    """The name of the container building `tag` starts with this (and is removed)."""
    return f"gitramp-kit-build-{tag.rpartition(':')[2]}-"


def failed_packages(report: str) -> list[str]:
    """The packages `kit_probe.py check` reported as failed."""
    return [m.group(1) for m in re.finditer(r"^FAIL (\S+?):", report, re.M)]


def build_kit_image(tag: str, base_tag: str, requirements: Sequence[str], wheels: Path,
                    *, base: BaseInventory | None = None,
                    log: Callable[[str], None] = print) -> str:
    """Build and tag `tag`: `base_tag` plus the requirements, installed offline from
    the wheel folder `wheels`, then smoke-tested. Returns the image id."""
    start = time.monotonic()
    reqs = parse_requirements(requirements)
    if not reqs:
        raise KitImageError("the kit has no requirements: it runs in the base image")
    base = base or inventory(base_tag)
    check_against_base(reqs, base)
    if not wheels.is_dir() or not any(wheels.glob("*.whl")):
        raise KitImageError(f"the wheel folder {wheels} holds no wheel: fill it where an "
                            "index is reachable (`gitramp image wheels --kit <kit path> "
                            f"--wheels {wheels}`), then build with --offline")
    names = [canonical(r.name) for r in reqs]
    container = f"{build_container_prefix(tag)}{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="gitramp-kit-") as tmp:
        _write_inputs(Path(tmp), reqs, base)
        for recipe in (MANIFEST, INSTALL):
            (Path(tmp) / recipe.name).write_bytes(recipe.read_bytes())
        Path(tmp).chmod(0o755)
        log(f"image: installing {', '.join(str(r) for r in reqs)} into {base_tag}, "
            f"offline from {wheels}")
        done = _docker([
            "run", "--name", container, "--network", "none", "--user", "0",
            "--tmpfs", "/tmp",
            "-v", f"{pip_dir()}:{PIP_MOUNT}/pip:ro",
            "-v", f"{wheels.resolve()}:{WHEELS_MOUNT}:ro",
            "-v", f"{tmp}:{BUILD_MOUNT}:ro",
            base_tag, "sh", f"{BUILD_MOUNT}/{INSTALL.name}",
        ], capture=False)
    try:
        if done.returncode:
            raise KitImageError(
                f"installing the kit's requirements ({', '.join(names)}) from {wheels} "
                f"failed (pip exit {done.returncode}; its message is above). A missing "
                "wheel: fill the folder where an index is reachable (`gitramp image build "
                "--kit <kit path>` without --offline does); a conflict with the base "
                "image's packages: change the kit's requirements")
        committed = _docker(["commit", "--change", f"USER {UID}:{UID}",
                             "--change", 'CMD ["python3"]',
                             "--change", f"LABEL gitramp.recipe={tag}",
                             container], check=True)
        image_id = committed.stdout.strip()
    finally:
        _docker(["rm", "--force", container])
    report = _smoke_test(image_id, names)
    log(report.rstrip())
    failed = failed_packages(report)
    if failed or not report.strip():
        _docker(["rmi", "--force", image_id])
        raise KitImageError(
            f"kit image {tag} not built: {', '.join(failed) or 'the smoke test'} failed "
            "in the built image (see above); nothing was tagged")
    previous = _docker(["image", "inspect", "-f", "{{.Id}}", tag]).stdout.strip()
    _docker(["tag", image_id, tag], check=True)
    if previous and previous != image_id:  # a rebuild (--force): the old one, if unused
        _docker(["rmi", previous])
    size = _docker(["image", "inspect", "-f", "{{.Size}}", tag], check=True).stdout.strip()
    log(f"image: built {tag} in {time.monotonic() - start:.0f} s, "
        f"{int(size or 0) // 1_000_000} MB")
    return image_id


def _smoke_test(image_id: str, names: Sequence[str]) -> str:
    """`kit_probe.py check` in the image as a scoring container would run: the
    submission user, no network, a read-only root and a tmpfs /tmp."""
    done = _docker(["run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
                    image_id, "python3", "-c", PROBE.read_text(), "check", *names])
    report = done.stdout
    if done.returncode and not failed_packages(report):
        report += f"FAIL smoke-test: exit {done.returncode}: {done.stderr.strip()}\n"
    return report
