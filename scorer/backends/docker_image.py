"""The scoring image's name: a tag derived from a hash of everything that builds it.

The recipe lives in `runners/` (build_image.sh, Dockerfile, requirements.txt). A kit
may add its own pip requirements (`requirements:` in challenge.yml); they get their
own image, tagged `<base hash>-<kit requirements hash>`. Same inputs, same tag: the
build script skips a tag that exists, and a changed input gives a new tag, so a
stale image is never used by mistake.

    python -m scorer.backends.docker_image tag [--kit DIR]
    python -m scorer.backends.docker_image requirements [--kit DIR]
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from pathlib import Path

RUNNERS = Path(__file__).resolve().parents[2] / "runners"
RECIPE = ("build_image.sh", "Dockerfile", "requirements.txt")
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
    return hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:12]


def recipe_hash(runners: Path = RUNNERS) -> str:
    h = hashlib.sha256()
    for name in RECIPE:
        f = runners / name
        h.update(name.encode() + b"\0" + (f.read_bytes() if f.is_file() else b"") + b"\0")
    return h.hexdigest()[:12]


def image_tag(requirements_hash: str | None = None, runners: Path = RUNNERS) -> str:
    tag = recipe_hash(runners)
    if requirements_hash:
        tag += "-" + requirements_hash[:12]
    return f"{REPOSITORY}:{tag}"


def _kit_requirements(kit_dir: str | None) -> list[str]:
    if not kit_dir:
        return []
    from challenge.kit import load_kit  # only the CLI needs the kit loader

    return normalise_requirements(load_kit(kit_dir).requirements)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scorer.backends.docker_image")
    parser.add_argument("what", choices=("tag", "requirements"),
                        help="print the image tag, or the kit's extra requirements")
    parser.add_argument("--kit", help="a kit folder whose challenge.yml adds requirements")
    args = parser.parse_args(argv)
    reqs = _kit_requirements(args.kit)
    if args.what == "tag":
        print(image_tag(kit_requirements_hash(reqs)))
    else:
        print("\n".join(reqs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
