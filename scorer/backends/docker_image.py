"""The scoring image's name: a tag derived from a hash of everything that builds it.

The recipe (build_image.sh, Dockerfile, requirements.txt) ships with the package in
scorer/backends/image/: in a checkout those are links to runners/, where the files
live; a wheel holds copies. A kit may add its own pip requirements (`requirements:` in
challenge.yml); they get their own image, built on the base image
(scorer/backends/kit_image.py) and tagged `<base hash>-<kit hash>`, where the kit hash
covers the requirements and the kit recipe (kit_install.sh, kit_probe.py).
Same inputs, same tag: an existing tag is reused, and a changed input gives a new tag,
so a stale image is never used by mistake.

`gitramp image tag [--kit DIR]` prints the tag, `gitramp image build [--kit DIR]`
builds the image (gitramp/commands/image.py).
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

RECIPE_DIR = Path(__file__).resolve().parent / "image"
RECIPE = ("build_image.sh", "Dockerfile", "requirements.txt", "manifest.py")
# what builds and checks a kit's layer on top of the base image: part of a kit image's tag
KIT_RECIPE = ("kit_install.sh", "kit_probe.py")
REPOSITORY = "gitramp-scorer"
UID = 10001  # the unprivileged user submissions run as


def normalise_requirements(requirements: Sequence[str]) -> list[str]:
    lines = (r.split("#", 1)[0].strip() for r in requirements)
    return sorted({line for line in lines if line})


def kit_requirements_hash(requirements: Sequence[str]) -> str | None:
    """What `IngestJob.requirements_hash` holds for a kit with extra requirements."""
    reqs = normalise_requirements(requirements)
    if not reqs:
        return None
    return hashlib.sha256("\n".join(reqs).encode() + b"\0" + _kit_recipe()).hexdigest()[:12]


@lru_cache(maxsize=1)
def _kit_recipe() -> bytes:
    return b"\0".join((RECIPE_DIR / name).read_bytes() if (RECIPE_DIR / name).is_file()
                      else b"" for name in KIT_RECIPE)


def recipe_hash(recipe_dir: Path = RECIPE_DIR) -> str:
    h = hashlib.sha256()
    for name in RECIPE:
        f = recipe_dir / name
        h.update(name.encode() + b"\0" + (f.read_bytes() if f.is_file() else b"") + b"\0")
    return h.hexdigest()[:12]


def image_tag(requirements_hash: str | None = None, recipe_dir: Path = RECIPE_DIR) -> str:
    tag = recipe_hash(recipe_dir)
    if requirements_hash:
        tag += "-" + requirements_hash[:12]
    return f"{REPOSITORY}:{tag}"


def build_command(requirements_hash: str | None = None, kit_dir: Path | None = None) -> str:
    """The command that builds the image `image_tag(requirements_hash)` names: for a
    kit's own image, with that kit's folder when it is known."""
    if requirements_hash:
        return "gitramp image build --kit " + (shlex.quote(str(kit_dir)) if kit_dir
                                               else "<kit path>")
    return "gitramp image build"
