"""A record's provenance: what a re-run of its score needs, gathered when it is scored.

`collect` builds the `provenance` mapping of a record (schema 2, scorer/result.py):

    data:         {key, digest, files}   keyed fingerprint of the data files as read
    environment:  {source, manifest, os, python, packages}   image or local manifest
    machine:      {cpu, cpus, gpus}
    seeds:        {cv: {splitter, random_state}, quick, submission: null}
    gitramp:      the version that scored it

The pieces come from scorer/fingerprint.py. Gathering them never costs a result: what
cannot be read is recorded as missing, with the reason under `incomplete`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scorer import fingerprint as fp
from scorer.task import Task


def gitramp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gitramp")
    except PackageNotFoundError:
        return "unknown"


def backend_environment(backend: Any, image: str | None) -> tuple[dict | None, dict]:
    """(manifest, record form) of the environment a backend ran code in: the image's
    manifest for a container backend, this interpreter's for the local one."""
    name = getattr(backend, "name", "local")
    if name == "local":
        manifest, source = fp.local_manifest(), "local"
    else:
        client = getattr(backend, "client", None)
        image_id = (image or "").rpartition("@")[2]
        if client is None or not image_id:
            return None, {"source": "image", "manifest": None}
        manifest, source = fp.image_manifest(client, image_id), "image"
    if manifest is not None:
        # kept for each record, in the cache of the moment: a manifest computed once per
        # process may have been kept in another cache folder (a runner's settings changed)
        fp.keep_manifest(manifest)
    return manifest, fp.environment(manifest, source)


def collect(kit: Task, data_dir: Path | None, backend: Any, image: str | None,
            quick: bool) -> dict[str, Any]:
    """The provenance of a score just computed with `backend` on the data at `data_dir`
    (the kit's public copies when None)."""
    out: dict[str, Any] = {}
    incomplete: list[str] = []
    steps = (
        ("data", lambda: fp.data_fingerprint(kit, Path(data_dir) if data_dir else kit.path)),
        ("environment", lambda: backend_environment(backend, image)[1]),
        ("machine", fp.machine),
        ("seeds", lambda: fp.scorer_seeds(kit, quick)),
    )
    for key, make in steps:
        try:
            out[key] = make()
        except Exception as e:  # noqa: BLE001 - provenance is extra: never lose a score
            out[key] = None
            incomplete.append(f"{key}: {type(e).__name__}: {e}"[:300])
    if out.get("data") is None and "data" not in " ".join(incomplete):
        incomplete.append(f"data: no fingerprint key on the runner ({fp.KEY_ENV})")
    out["gitramp"] = gitramp_version()
    if incomplete:
        out["incomplete"] = incomplete
    return out
