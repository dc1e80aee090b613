"""`gitramp image`: the scoring image that the docker backend runs submissions in.

`gitramp image tag [--kit DIR]` prints its tag, a hash of the recipe that ships with
gitramp (scorer/backends/image/) and of a kit's own `requirements:`.

`gitramp image build` builds the base image with that recipe (runners/IMAGE.md), unless
an image of that tag exists: needs root (debootstrap), a Docker engine and a pip index;
with BASE_IMAGE set, `docker build` from that image instead of debootstrap.

`gitramp image build --kit DIR` builds the kit's own image on top of the base (built
first if absent): the kit's requirements and their dependencies are downloaded into a
wheel folder (--wheels, by default ~/.cache/gitramp/wheels) for the image's platform,
then installed from that folder alone in a container with no network, and every
requirement is imported in the result. --offline skips the download: the folder was
filled before, e.g. by `gitramp image wheels --kit DIR` where an index is reachable.

`gitramp image load [--kit DIR] [--engine podman]` gives another engine (root Podman's
service, runners/ENGINES.md) Docker's scoring image, and the kit's with --kit, under
the same tag, unless it holds that image already; `build --engine podman` does it
after building."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from challenge.errors import GitrampError
from challenge.kit import load_kit
from scorer.backends.docker_image import RECIPE_DIR, image_tag, kit_requirements_hash
from scorer.backends.engine import ENGINE_VARIABLE, ENGINES, Engine
from scorer.backends.kit_image import (
    build_kit_image,
    default_wheels_dir,
    fill_wheels,
    inventory,
    parse_requirements,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("image", help="build the scoring image, or print its tag",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("build", "tag", "wheels", "load"),
                   help="build: build the image (if its tag is absent); tag: print the "
                        "tag; wheels: only fill the wheel folder with a kit's requirements; "
                        "load: give Docker's image to another engine (--engine)")
    p.add_argument("--engine", choices=ENGINES, default=None,
                   help="load, and build after building: the engine to give the image to "
                        "(default: $GITRAMP_ENGINE; for load, else podman)")
    p.add_argument("--kit", type=Path, default=None,
                   help="a kit whose challenge.yml adds pip requirements (its own image)")
    p.add_argument("--force", action="store_true", help="build: rebuild an existing tag")
    p.add_argument("--wheels", type=Path, default=None, metavar="DIR",
                   help="the wheel folder of kit requirements (default: "
                        "$XDG_CACHE_HOME/gitramp/wheels, else ~/.cache/gitramp/wheels)")
    p.add_argument("--offline", action="store_true",
                   help="build --kit: install from the wheel folder as it is, without "
                        "downloading into it first")
    return p


def run(args: argparse.Namespace) -> int:
    code = 0 if args.action == "load" else _run(args)
    if code or args.action not in ("build", "load"):
        return code
    default = "podman" if args.action == "load" else "docker"
    engine = Engine.from_env(args.engine or os.environ.get(ENGINE_VARIABLE) or default)
    if engine.name == "docker":
        if args.action == "load":
            print("image: the image is built and kept in Docker; nothing to load "
                  "(--engine podman gives it to Podman)")
        return 0
    from scorer.backends.engine_image import feed

    reqs = list(load_kit(args.kit).requirements) if args.kit else []
    for tag in dict.fromkeys([image_tag(), image_tag(kit_requirements_hash(reqs))]):
        done = feed(tag, engine)
        print(f"image: {tag} {'loaded into' if done else 'is already in'} {engine.name}"
              f"{'' if done else ', reusing it'}")
    return 0


def _run(args: argparse.Namespace) -> int:
    reqs = list(load_kit(args.kit).requirements) if args.kit else []
    parse_requirements(reqs)  # a malformed line fails here, before any build
    base_tag = image_tag()
    tag = image_tag(kit_requirements_hash(reqs))
    if args.action == "tag":
        print(tag)
        return 0
    wheels = (args.wheels or default_wheels_dir()).resolve()
    if args.action == "wheels":
        if not reqs:
            raise GitrampError("`gitramp image wheels` needs --kit with a kit that has "
                               "`requirements:`")
        _build_base(base_tag, force=False)
        fill_wheels(reqs, inventory(base_tag), wheels)
        print(f"image: {wheels} holds the wheels of {args.kit}'s requirements; build "
              f"offline with `gitramp image build --kit {args.kit} --offline --wheels "
              f"{wheels}`")
        return 0
    if not reqs:
        _build_base(base_tag, force=args.force)
        return 0
    if not args.force and _image_exists(tag):
        print(f"image: {tag} exists, reusing it")
        return 0
    _build_base(base_tag, force=False)
    base = inventory(base_tag)
    if not args.offline:
        fill_wheels(reqs, base, wheels)
    build_kit_image(tag, base_tag, reqs, wheels, base=base)
    return 0


def _build_base(tag: str, force: bool) -> None:
    if not force and _image_exists(tag):
        print(f"image: {tag} exists, reusing it")
        return
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(RECIPE_DIR / "build_image.sh"), tag,
                           str(RECIPE_DIR / "requirements.txt")], env=env, check=False)
    if done.returncode:
        raise GitrampError(f"building {tag} failed (exit {done.returncode}); see above")


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
