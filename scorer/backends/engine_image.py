"""Feeding another engine the scoring image Docker holds, under the same tag.

The image is built in Docker (runners/IMAGE.md); Podman gets it through both
engines' APIs, the archive Docker's `GET /images/{tag}/get` streams (what `docker
save` writes) posted to Podman's `POST /images/load` (what `podman load` reads),
with nothing written to disk in between. Going through the API rather than the
podman command reaches the storage the running service uses, whatever its storage
driver and configuration. An engine that already holds an image of that tag with
the same id is left alone: image ids are the digest of the image's configuration,
the same in both engines.
"""

from __future__ import annotations

from scorer.backends.engine import Engine, sdk_client
from scorer.errors import GitrampError

TIMEOUT = 1800  # seconds: a few hundred megabytes to a gigabyte, on a busy machine


def _client(url: str | None):
    return sdk_client(url, TIMEOUT)


def image_id(client, tag: str) -> str | None:
    import docker

    try:
        return client.images.get(tag).id
    except docker.errors.ImageNotFound:
        return None


def feed(tag: str, engine: Engine, source_url: str | None = None) -> bool:
    """Give `engine` Docker's image `tag` (Docker at `source_url`, by default its own
    default socket) under the same tag. True when it was loaded, False when the
    engine held that image already."""
    import docker

    if engine.name == "docker" and not engine.url and not source_url:
        return False  # the image is already where it was built
    try:
        source = _client(source_url)
        wanted = image_id(source, tag)
    except docker.errors.DockerException as e:
        raise GitrampError(f"no Docker engine answers to give {tag} to {engine.name} "
                           f"({e}); the image is built and kept in Docker") from None
    if wanted is None:
        raise GitrampError(f"Docker has no image {tag} to give {engine.name}: build it "
                           "first (`gitramp image build`, with --kit for a kit's own)")
    try:
        target = _client(engine.url)
        target.ping()
    except docker.errors.DockerException as e:
        raise GitrampError(f"the {engine.name} engine does not answer at "
                           f"{engine.url or 'its default socket'} ({e}). "
                           f"{engine.start_hint()}") from None
    if image_id(target, tag) == wanted:
        return False
    try:
        for line in target.api.load_image(source.api.get_image(tag)):
            if isinstance(line, dict) and line.get("errorDetail"):
                raise GitrampError(f"{engine.name} refused {tag}: "
                                   f"{line['errorDetail'].get('message', line)}")
    except docker.errors.APIError as e:
        raise GitrampError(f"loading {tag} into {engine.name} failed: {e}") from None
    got = image_id(target, tag)
    if got != wanted:
        raise GitrampError(f"after loading, {engine.name} answers {got or 'nothing'} for "
                           f"{tag}, not Docker's {wanted}")
    return True
