"""`gitramp image`: the scoring image that the docker backend runs submissions in.

`gitramp image tag` prints its tag, a hash of the recipe that ships with gitramp
(scorer/backends/image/) and of a kit's own `requirements:`; `gitramp image build`
builds it with that recipe (runners/IMAGE.md), unless an image of that tag exists.
Building needs root (debootstrap), a Docker engine and a pip index; with BASE_IMAGE
set, `docker build` from that image instead of debootstrap."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from challenge.errors import GitrampError
from challenge.kit import load_kit
from scorer.backends.docker_image import (
    RECIPE_DIR,
    image_requirements,
    image_tag,
    kit_requirements_hash,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("image", help="build the scoring image, or print its tag",
                       description=__doc__)
    p.add_argument("action", choices=("build", "tag"),
                   help="build: build the image (if its tag is absent); tag: print the tag")
    p.add_argument("--kit", type=Path, default=None,
                   help="a kit whose challenge.yml adds pip requirements (its own image)")
    p.add_argument("--force", action="store_true", help="build: rebuild an existing tag")
    return p


def run(args: argparse.Namespace) -> int:
    reqs = load_kit(args.kit).requirements if args.kit else []
    tag = image_tag(kit_requirements_hash(reqs))
    if args.action == "tag":
        print(tag)
        return 0
    if not args.force and _image_exists(tag):
        print(f"image: {tag} exists, reusing it")
        return 0
    with tempfile.TemporaryDirectory(prefix="gitramp-image-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(image_requirements(reqs))
        env = {**os.environ, "PYTHON": sys.executable}
        done = subprocess.run(["bash", str(RECIPE_DIR / "build_image.sh"), tag,
                               str(requirements)], env=env, check=False)
    if done.returncode:
        raise GitrampError(f"building {tag} failed (exit {done.returncode}); see above")
    return 0


def _image_exists(tag: str) -> bool:
    try:
        done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True,
                              check=False)
    except FileNotFoundError:
        raise GitrampError("building the scoring image needs Docker; no docker command "
                           "found") from None
    if done.returncode and b"No such image" not in done.stderr + done.stdout:
        raise GitrampError("no Docker engine answers `docker image inspect`: "
                           + (done.stderr.decode(errors="replace").strip() or "(no message)"))
    return done.returncode == 0
