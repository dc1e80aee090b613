"""Backends run a submission's code: `local` (child processes), `docker` (a
locked-down container) and `slurm` (that container, as a Slurm job on a compute
node). `get_backend(name)` builds one by name."""

from __future__ import annotations

from scorer.errors import GitrampError

NAMES = ("local", "docker", "slurm")


def get_backend(name: str, **options):
    # Imported on demand: the Docker backend brings the Docker SDK and requests.
    if name == "local":
        from scorer.backends.local import LocalBackend

        return LocalBackend(**options)
    if name == "docker":
        from scorer.backends.docker import DockerBackend

        return DockerBackend(**options)
    if name == "slurm":
        from scorer.backends.slurm import SlurmBackend

        return SlurmBackend(**options)
    raise GitrampError(f"unknown backend {name!r}; choose one of {', '.join(NAMES)}")
