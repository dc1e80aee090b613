"""`gitramp image load`: Docker's scoring image, and a kit's with --kit, given to root
Podman's service under the same tag and the same id, and left alone when Podman
holds it already; then `gitramp test --engine podman` scores on it. The kit image
here is a tiny one built for the test under a kit's tag (the loading does not look
inside), so the test moves kilobytes, not the image's hundreds of megabytes.
`gitramp test --engine` reaching the backend is also checked without any engine."""

from __future__ import annotations

import io
import tarfile
import uuid

import pytest
import yaml

from gitramp.main import main
from scorer.backends.docker_image import image_tag, kit_requirements_hash
from scorer.backends.engine import Engine, podman_socket
from scorer.backends.engine_image import feed, image_id
from tests.hostile.sandbox_kit import IRIS, small_kit


def _kit_with_requirement(folder):
    """A kit whose requirements give it a tag of its own (nothing is installed)."""
    kit = small_kit(folder)
    raw = yaml.safe_load((kit.path / "challenge.yml").read_text())
    requirement = f"gitramp-load-probe-{uuid.uuid4().hex[:8]}==1.0"
    raw["requirements"] = [requirement]
    (kit.path / "challenge.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return kit.path, image_tag(kit_requirements_hash([requirement]))


def _tiny_image(client, tag: str) -> str:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, body in {"Dockerfile": b"FROM scratch\nCOPY probe /probe\n",
                           "probe": tag.encode()}.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    data.seek(0)
    image, _ = client.images.build(fileobj=data, custom_context=True, tag=tag, rm=True)
    return image.id


@pytest.mark.podman
@pytest.mark.docker
def test_image_load_gives_podman_the_images_once(docker_engine, podman_engine, tmp_path,
                                                 capsys, monkeypatch):
    monkeypatch.delenv("GITRAMP_ENGINE", raising=False)
    kit, tag = _kit_with_requirement(tmp_path / "kit")
    wanted = _tiny_image(docker_engine, tag)
    try:
        assert image_id(podman_engine, tag) is None
        assert main(["image", "load", "--kit", str(kit), "--engine", "podman"]) == 0
        out = capsys.readouterr().out
        assert f"image: {image_tag()} is already in podman, reusing it" in out  # the base
        assert f"image: {tag} loaded into podman" in out
        assert image_id(podman_engine, tag) == wanted
        # once there, it is not sent again (podman is the default engine of load)
        assert main(["image", "load", "--kit", str(kit)]) == 0
        assert f"image: {tag} is already in podman, reusing it" in capsys.readouterr().out
        assert not feed(tag, Engine("podman", podman_socket()))
    finally:
        for client in (podman_engine, docker_engine):
            if image_id(client, tag) is not None:
                client.images.remove(wanted, force=True)


@pytest.mark.podman
@pytest.mark.docker
def test_gitramp_test_scores_on_podman(podman_engine, capsys, monkeypatch):
    monkeypatch.delenv("GITRAMP_ENGINE", raising=False)
    code = main(["test", "--kit", str(IRIS), "--backend", "docker", "--engine", "podman",
                 "--quick-test"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "acc" in out


def test_gitramp_test_engine_reaches_the_docker_backend(tmp_path, capsys, monkeypatch):
    """No engine needed: Podman is asked for at a socket where none listens."""
    monkeypatch.delenv("GITRAMP_ENGINE", raising=False)
    monkeypatch.setenv("GITRAMP_ENGINE_URL", f"unix://{tmp_path}/podman.sock")
    code = main(["test", "--kit", str(IRIS), "--backend", "docker", "--engine", "podman",
                 "--quick-test"])
    captured = capsys.readouterr()
    assert code != 0
    assert "Podman's Docker-compatible service" in captured.out + captured.err
