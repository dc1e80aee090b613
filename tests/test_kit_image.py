"""A kit's own scoring image (scorer/backends/kit_image.py): its requirements resolved
against the base image's pinned versions, for the image's platform (no Docker needed),
then real builds on the already-built base image, offline from a wheel folder of tiny
wheels made here: a requirement with a dependency installs both and imports; a
requirement whose import raises fails the build, names the package and tags nothing."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import runpy
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml

from challenge.errors import GitrampError
from challenge.kit import load_kit
from gitramp.main import main
from scorer.backends.docker import DockerBackend
from scorer.backends.docker_image import (
    RECIPE_DIR,
    build_command,
    image_tag,
    kit_requirements_hash,
)
from scorer.backends.kit_image import (
    BaseInventory,
    KitImageError,
    build_container_prefix,
    check_against_base,
    constraints,
    download_args,
    failed_packages,
    fill_wheels,
    parse_requirements,
    platform_tags,
)
from scorer.scoring import score_submission
from tests.conftest import need
from tests.hostile.sandbox_kit import SUBMISSIONS, small_kit

PROBE = runpy.run_path(str(RECIPE_DIR / "kit_probe.py"))
BASE = BaseInventory(python="3.11", implementation="cpython", libc="glibc 2.36",
                     machine="x86_64", dists={"numpy": "2.4.6", "scikit-learn": "1.9.1",
                                              "python-dateutil": "4.0.0"})


# ------------------------------------------------------------------ tiny wheels
def make_wheel(folder: Path, name: str, version: str, files: dict[str, str],
               requires: tuple[str, ...] = (), top_level: bool = True) -> Path:
    """A pure-Python wheel written by hand (no build backend, no network)."""
    dist = f"{name}-{version}.dist-info"
    entries = dict(files)
    entries[f"{dist}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires))
    entries[f"{dist}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                                "Tag: py3-none-any\n")
    if top_level:
        entries[f"{dist}/top_level.txt"] = "".join(
            sorted({p.split("/")[0].removesuffix(".py") + "\n" for p in files}))
    record = []
    for path, text in entries.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    entries[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in entries.items():
            z.writestr(path, text)
    return wheel


def dist_info(folder: Path, name: str, files: list[str], top_level: str | None = None):
    """An installed distribution's dist-info folder, as pip leaves it."""
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level)
    return md.PathDistribution(info)


# ------------------------------------------------------------------ no Docker
def test_requirements_must_name_packages():
    assert [str(r) for r in parse_requirements(["seaborn==0.13.2", "# c", "torch==2.13.0"])] \
        == ["seaborn==0.13.2", "torch==2.13.0"]
    with pytest.raises(KitImageError, match="points at a URL"):
        parse_requirements(["thing @ https://example.org/thing-1.0-py3-none-any.whl"])
    with pytest.raises(KitImageError,
                       match="'--index-url https://example.org' is not a package requirement"):
        parse_requirements(["--index-url https://example.org"])


def test_a_requirement_must_admit_the_base_version_of_a_base_package():
    check_against_base(parse_requirements(["numpy>=2", "scikit_learn", "seaborn==0.13.2",
                                           "python_dateutil~=4.0"]), BASE)
    with pytest.raises(KitImageError, match=r"'numpy<2'.*numpy 2\.4\.6"):
        check_against_base(parse_requirements(["numpy<2"]), BASE)
    with pytest.raises(KitImageError, match=r"Scikit\.Learn==1\.5.*1\.9\.1"):
        check_against_base(parse_requirements(["Scikit.Learn==1.5"]), BASE)


def test_the_base_versions_are_pinned_as_constraints():
    assert constraints(BASE) == "numpy==2.4.6\npython-dateutil==4.0.0\nscikit-learn==1.9.1\n"
    inv = BaseInventory.from_json('{"python": "3.11", "implementation": "cpython", '
                                  '"libc": "glibc 2.36", "machine": "x86_64", '
                                  '"dists": {"Scikit_Learn": "1.9.1", "torch": "2.13.0+cpu"}}')
    assert constraints(inv) == "scikit-learn==1.9.1\ntorch==2.13.0+cpu\n"


def test_wheels_are_chosen_for_the_image_platform():
    tags = platform_tags(BASE)
    assert tags[0] == "manylinux_2_36_x86_64" and "manylinux_2_28_x86_64" in tags
    assert "manylinux_2_17_x86_64" in tags and "manylinux_2_37_x86_64" not in tags
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)
    assert not [t for t in tags if t.startswith("linux_")]  # built for another system
    arm = platform_tags(BaseInventory("3.11", "cpython", "glibc 2.36", "aarch64", {}))
    assert "manylinux2014_aarch64" in arm and "manylinux1_aarch64" not in arm
    args = download_args(BASE)
    assert args[:6] == ["--only-binary=:all:", "--implementation", "cp", "--python-version",
                        "3.11", "--abi"] and args[6] == "cp311"
    with pytest.raises(KitImageError, match="glibc"):
        platform_tags(BaseInventory("3.11", "cpython", "", "x86_64", {}))
    with pytest.raises(KitImageError, match="CPython"):
        platform_tags(BaseInventory("3.10", "pypy", "glibc 2.36", "x86_64", {}))


def test_the_folder_is_filled_with_dependencies_at_the_base_versions(tmp_path):
    """A real pip resolution from a local index: kit-a pulls kit-b and kit-c; kit-b is
    in the base (1.0), so the folder gets kit-b 1.0 although 2.0 is offered."""
    index, wheels = tmp_path / "index", tmp_path / "wheels"
    make_wheel(index, "kit_a", "1.0", {"kit_a/__init__.py": ""},
               requires=("kit-b>=1", "kit-c"))
    for version in ("1.0", "2.0"):
        make_wheel(index, "kit_b", version, {"kit_b/__init__.py": ""})
    make_wheel(index, "kit_c", "3.0", {"kit_c/__init__.py": ""})
    base = BaseInventory("3.11", "cpython", "glibc 2.36", "x86_64", {"kit-b": "1.0"})
    fill_wheels(["kit-a==1.0"], base, wheels, pip_args=["--no-index", "--find-links", str(index)])
    assert sorted(w.name for w in wheels.glob("*.whl")) == [
        "kit_a-1.0-py3-none-any.whl", "kit_b-1.0-py3-none-any.whl", "kit_c-3.0-py3-none-any.whl"]
    with pytest.raises(KitImageError, match=r"kit-b>=2.*kit-b 1\.0"):
        fill_wheels(["kit-b>=2"], base, wheels, pip_args=["--no-index", "--find-links", str(index)])
    with pytest.raises(KitImageError, match="could not fill the wheel folder.*kit-d"):
        fill_wheels(["kit-d"], base, wheels, pip_args=["--no-index", "--find-links", str(index)])


def test_import_names_come_from_the_installed_dist_info(tmp_path):
    top = dist_info(tmp_path, "scikit_learn", ["sklearn/__init__.py"], "sklearn\n")
    assert PROBE["top_level_names"](top) == ["sklearn"]
    record = dist_info(tmp_path, "thing", [
        "thing_core/__init__.py", "thing_core/x.py", "_thing_ext.cpython-311-x86_64-linux-gnu.so",
        "solo.py", "thing.libs/libz.so", "nspkg/sub/mod.py", "thing-1.0.dist-info/RECORD",
        "../../../bin/thing", "thing.pth", "__pycache__/solo.cpython-311.pyc"])
    assert PROBE["top_level_names"](record) == ["_thing_ext", "nspkg", "solo", "thing_core"]


def test_the_smoke_test_report_names_failed_packages():
    report = "ok kit-a 1.0: import kit_a\nFAIL kit-bad: import kit_bad: RuntimeError: no\n" \
             "FAIL numpy: installed twice (2.4.6, 1.26.0)\n"
    assert failed_packages(report) == ["kit-bad", "numpy"]


def test_the_kit_image_tag_follows_requirements_and_the_kit_build(tmp_path):
    assert kit_requirements_hash(["a==1"]) != kit_requirements_hash(["a==2"])
    assert build_command(kit_requirements_hash(["a==1"]), tmp_path / "my kit") \
        == f"gitramp image build --kit '{tmp_path}/my kit'"
    assert build_command() == "gitramp image build"


# ------------------------------------------------------------------ real builds
@pytest.fixture(scope="module")
def base_image(docker_engine):
    tag = image_tag()
    done = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    if done.returncode:
        need(f"the base scoring image {tag} is not built (make image)")
    return tag


def _kit(folder: Path, requirements: list[str]):
    kit = small_kit(folder, timeout=300)  # a machine busy with builds is slow to score
    raw = yaml.safe_load((kit.path / "challenge.yml").read_text())
    raw["requirements"] = requirements
    (kit.path / "challenge.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_kit(kit.path)


def _remove(tag: str) -> None:
    subprocess.run(["docker", "rmi", "--force", tag], capture_output=True)


def _build_containers(tag: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"],
                         capture_output=True, text=True, check=True).stdout.split()
    return [n for n in out if n.startswith(build_container_prefix(tag))]


@pytest.mark.docker
def test_a_requirement_and_its_dependency_install_offline_and_import(base_image, tmp_path):
    version = f"1.0.{uuid.uuid4().int % 10**9}"  # a tag of its own per run
    wheels = tmp_path / "wheels"
    # kit-a needs kit-b (absent from the base) and numpy (in the base, and not in the
    # folder: pip must take the base's own)
    make_wheel(wheels, "kit_a", version,
               {"kit_a/__init__.py": "import kit_b\nimport numpy\nVALUE = kit_b.VALUE + 1\n"},
               requires=("kit-b>=1", "numpy>=2"))
    make_wheel(wheels, "kit_b", "1.0", {"kit_b.py": "VALUE = 41\n"}, top_level=False)
    kit = _kit(tmp_path / "kit", [f"kit-a=={version}"])
    tag = image_tag(kit_requirements_hash(kit.requirements))
    try:
        assert main(["image", "build", "--kit", str(kit.path), "--offline",
                     "--wheels", str(wheels)]) == 0
        probe = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", tag, "python3", "-c",
             "import kit_a, numpy, os, importlib.metadata as md; print(kit_a.VALUE, "
             "numpy.__version__, os.getuid(), sorted(d.metadata['Name'] for d in "
             "md.distributions() if d.metadata['Name'].lower() == 'numpy'))"],
            capture_output=True, text=True)
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.split() == ["42", "2.4.6", "10001", "['numpy']"]
        # the scorer picks the kit's image by itself
        backend = DockerBackend(warm=False)
        try:
            run = score_submission(kit, SUBMISSIONS / "well_behaved", backend=backend)
        finally:
            backend.close()
        assert run.result.status == "scored", run.result.reason
        assert run.result.image.startswith(tag + "@")
        # built once: the same command reuses it
        assert main(["image", "build", "--kit", str(kit.path), "--offline",
                     "--wheels", str(wheels)]) == 0
    finally:
        _remove(tag)
    assert not _build_containers(tag)


@pytest.mark.docker
def test_a_requirement_that_fails_to_import_fails_the_build(base_image, tmp_path, capsys):
    version = f"1.0.{uuid.uuid4().int % 10**9}"
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "kit_bad", version,
               {"kit_bad/__init__.py": "raise RuntimeError('kit_bad cannot load')\n"})
    kit = _kit(tmp_path / "kit", [f"kit-bad=={version}"])
    tag = image_tag(kit_requirements_hash(kit.requirements))
    try:
        assert main(["image", "build", "--kit", str(kit.path), "--offline",
                     "--wheels", str(wheels)]) == 2
        out = capsys.readouterr()
        assert "FAIL kit-bad: import kit_bad: RuntimeError: kit_bad cannot load" in out.out
        assert f"kit image {tag} not built: kit-bad failed" in out.err
        assert subprocess.run(["docker", "image", "inspect", tag],
                              capture_output=True).returncode != 0  # nothing tagged
        # and the scorer then says how to build it, for this kit
        with pytest.raises(GitrampError) as e:
            score_submission(kit, SUBMISSIONS / "well_behaved",
                             backend=DockerBackend(warm=False))
        assert f"gitramp image build --kit {kit.path}" in str(e.value)
        assert "make image" not in str(e.value)
    finally:
        _remove(tag)
    assert not _build_containers(tag)
