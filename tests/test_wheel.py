"""The built wheel works alone: installed in a fresh virtual environment, run from
outside the checkout, `gitramp init` exports an example kit (its data generated),
`gitramp test` scores it, and the scoring image's recipe is the one in runners/.

Only gitramp comes from the wheel; its dependencies are reused from the development
environment through a .pth file (installing them from an index would take minutes).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from scorer.backends.docker_image import image_tag

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run(args, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment holding the wheel; returns its bin/ folder. Built once for
    all test workers (builds in the same checkout would collide on build/)."""
    base = tmp_path_factory.getbasetemp()
    # under xdist each worker's base is a folder of this run's one; alone, the base
    # itself is this run's (its parent holds every earlier run: a stale wheel)
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(shared / "wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tmp = shared / "wheel"
        if not (tmp / "venv" / "bin" / "gitramp").is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            _install(tmp)
    return tmp / "venv" / "bin"


def _install(tmp: Path) -> None:
    built = run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp / "dist", ROOT],
                cwd=tmp)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("gitramp-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = Path(run([venv / "bin" / "python", "-c",
                     "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=tmp).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
                "--quiet", "--no-deps", "--no-index", wheel], cwd=tmp)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_wheel_holds_file_contents_not_links(tmp_path, installed):
    site = installed.parent / "lib"
    shipped = {
        "scorer/backends/image/Dockerfile": ROOT / "runners" / "Dockerfile",
        "scorer/backends/image/build_image.sh": ROOT / "runners" / "build_image.sh",
        "scorer/backends/image/requirements.txt": ROOT / "runners" / "requirements.txt",
        "gitramp/templates/workflows/scoring.yml": ROOT / ".github/workflows/scoring.yml",
        "gitramp/templates/leaderboard_data/README.md": ROOT / "leaderboard_data/README.md",
        "gitramp/kits/iris/challenge.yml": ROOT / "kits/iris/challenge.yml",
    }
    for rel, source in shipped.items():
        (copy,) = site.glob(f"python*/site-packages/{rel}")
        assert not copy.is_symlink() and copy.read_bytes() == source.read_bytes(), rel
    workflows = sorted(p.name for p in site.glob("python*/site-packages/gitramp/templates/"
                                                 "workflows/*.yml"))
    assert workflows == ["organizer.yml", "scoring.yml", "site.yml", "submission.yml"]
    # no data of the example kits, public or hidden, goes into the wheel
    (wheel,) = installed.parent.parent.glob("dist/*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.endswith(".csv") or "/hidden/" in n]


def test_init_and_test_an_example_kit_from_the_wheel_alone(tmp_path, installed):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run([installed / "python", "-c",
                 "import gitramp, scorer, challenge, site_generator, sys; "
                 "print(gitramp.__file__, scorer.__file__, challenge.__file__, "
                 "site_generator.__file__, *sys.path, sep='\\n')"], cwd=elsewhere)
    assert where.returncode == 0, where.stderr
    files = where.stdout.split("\n")[:4]
    assert all(f.startswith(str(installed.parent)) for f in files), files
    assert str(ROOT) not in where.stdout.split("\n")[4:]  # the checkout is not on sys.path

    init = run([installed / "gitramp", "init", "iris", "--out", "iris"], cwd=elsewhere)
    assert init.returncode == 0, init.stderr
    kit = elsewhere / "iris"
    assert (kit / "data" / "train.csv").is_file() and not (kit / "hidden").exists()
    # the same workflow as this repository's, with the exporting gitramp version pinned
    pinned = f"|| 'gitramp=={version('gitramp')}') }}}}".encode()
    assert (kit / ".github" / "workflows" / "scoring.yml").read_bytes() == (
        ROOT / ".github" / "workflows" / "scoring.yml").read_bytes().replace(
        b"|| 'gitramp') }}", pinned)
    scored = run([installed / "gitramp", "test", "--quick-test"], cwd=kit)
    assert scored.returncode == 0, scored.stdout[-2000:] + scored.stderr[-2000:]
    assert "bagged test" in scored.stdout


def test_the_image_recipe_comes_from_the_wheel(tmp_path, installed):
    tag = run([installed / "gitramp", "image", "tag"], cwd=tmp_path)
    assert tag.returncode == 0, tag.stderr
    assert tag.stdout.strip() == image_tag()  # the same recipe as runners/
    usage = run(["bash", next((installed.parent / "lib").glob(
        "python*/site-packages/scorer/backends/image/build_image.sh"))], cwd=tmp_path)
    assert usage.returncode == 2 and "gitramp image build" in usage.stderr
    if shutil.which("docker") and run(["docker", "image", "inspect", image_tag()],
                                      cwd=tmp_path).returncode == 0:
        reuse = run([installed / "gitramp", "image", "build"], cwd=tmp_path)
        assert reuse.returncode == 0 and "exists, reusing it" in reuse.stdout, reuse.stderr
