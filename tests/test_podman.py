"""The Podman engine: choosing it, the requests put in Podman's terms (no engine
needed), then root Podman itself: every limit of the sandbox is in the cgroups it
made and holds (memory, swap, processes, CPU), and nothing is left writable or
behind that Docker would not leave. The hostile suite, the fold-isolation tests
and the sandbox probe also run on Podman (tests/conftest.py's container_engine)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

from challenge.errors import GitrampError
from scorer.backends import docker_spec as spec
from scorer.backends import get_backend
from scorer.backends.docker import DockerBackend, remove_stale
from scorer.backends.docker_image import image_tag
from scorer.backends.engine import (
    PODMAN_ROOT_SOCKET,
    Engine,
    podman_socket,
    podman_volume_options,
    tightened_seccomp,
    unenforced_limits,
)
from scorer.scoring import score_submission
from scorer.task import Limits
from tests.hostile.sandbox_kit import SUBMISSIONS, small_kit

PAGE = os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------ choosing the engine
def test_the_engine_comes_from_the_arguments_then_the_environment_then_docker():
    assert Engine.from_env(environ={}) == Engine("docker", None)
    assert Engine.from_env(environ={"GITRAMP_ENGINE": "Podman"}).name == "podman"
    env = {"GITRAMP_ENGINE": "podman", "GITRAMP_ENGINE_URL": "unix:///x.sock"}
    assert Engine.from_env(environ=env) == Engine("podman", "unix:///x.sock")
    assert Engine.from_env("docker", environ=env) == Engine("docker", "unix:///x.sock")
    assert Engine.from_env("podman", "tcp://h:1", environ=env).url == "tcp://h:1"
    with pytest.raises(GitrampError, match="choose one of docker, podman"):
        Engine.from_env(environ={"GITRAMP_ENGINE": "lxc"})


def test_the_engine_option_wins_over_the_environment(monkeypatch):
    import argparse

    from gitramp.options import add_scoring, options

    monkeypatch.setenv("GITRAMP_ENGINE", "docker")  # restored after the test
    parser = argparse.ArgumentParser()
    add_scoring(parser)
    chosen = options(parser.parse_args(["--backend", "docker", "--engine", "podman"]))
    assert get_backend("docker", **chosen.backend_options).engine.name == "podman"
    assert os.environ["GITRAMP_ENGINE"] == "docker"  # handed over, not written there
    with pytest.raises(SystemExit):
        parser.parse_args(["--engine", "lxc"])


def test_podman_socket_is_roots_or_the_users_own():
    assert podman_socket({}, uid=0) == PODMAN_ROOT_SOCKET
    assert podman_socket({"XDG_RUNTIME_DIR": "/run/user/1000"}, uid=1000) == \
        "unix:///run/user/1000/podman/podman.sock"
    assert podman_socket({}, uid=1001) == "unix:///run/user/1001/podman/podman.sock"


def test_get_backend_takes_the_engine():
    backend = get_backend("docker", engine="podman", engine_url="unix:///p.sock")
    assert backend.engine == Engine("podman", "unix:///p.sock")


def test_the_output_volume_keeps_its_caps_in_podmans_terms():
    limits = Limits(max_output_bytes=5_000_000)
    docker_options = spec.output_volume_options(limits, deadline=0)
    podman = podman_volume_options(docker_options)["driver_opts"]["o"].split(",")
    size = 5_000_000 + 1024**2
    assert f"nr_blocks={math.ceil(size / PAGE)}" in podman
    assert not [o for o in podman if o.startswith("size=")]
    # every other option as Docker gets it: inode cap, owner, mode, nosuid, nodev
    assert [o for o in podman if not o.startswith("nr_blocks=")] == [
        o for o in docker_options["driver_opts"]["o"].split(",") if not o.startswith("size=")]


def test_namespace_calls_are_refused_in_podmans_seccomp_profile():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "unshare", "clone", "clone3", "mount"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
    rules = tightened_seccomp(profile)["syscalls"]
    unconditional = [n for r in rules if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args")
                     and not r.get("includes") for n in r["names"]]
    assert unconditional == ["read"]
    (clone,) = [r for r in rules if r["names"] == ["clone"]]
    assert clone["args"][0]["op"] == "SCMP_CMP_MASKED_EQ" and clone["args"][0]["value"] & 0x10000000
    (clone3,) = [r for r in rules if r["names"] == ["clone3"]]
    assert clone3["action"] == "SCMP_ACT_ERRNO" and clone3["errnoRet"] == 38
    refused = [r for r in rules if r["action"] == "SCMP_ACT_ERRNO" and "unshare" in r["names"]]
    assert refused and refused[0]["excludes"] == {"caps": ["CAP_SYS_ADMIN"]}


def test_an_engine_that_cannot_enforce_the_limits_is_refused():
    enforced = {"MemoryLimit": True, "SwapLimit": True, "PidsLimit": True,
                "CpuCfsQuota": True, "CgroupVersion": "1"}
    assert unenforced_limits(enforced) == []
    assert unenforced_limits({**enforced, "Rootless": True, "CgroupVersion": "2"}) == []
    assert len(unenforced_limits({**enforced, "Rootless": True})) == 4  # rootless, v1
    assert len(unenforced_limits({**enforced, "SecurityOptions": ["name=rootless"]})) == 4
    assert unenforced_limits({**enforced, "PidsLimit": False}) == ["process-count limits"]


# ------------------------------------------------------------------ against root Podman
def _container(client, limits: Limits, tmp: Path, command: list[str] | None = None):
    """A container made exactly as the backend makes one (docker_spec.py), running."""
    for d in ("submission", "inputs", "start"):
        (tmp / d).mkdir(exist_ok=True)
    volume = client.volumes.create(**spec.output_volume_options(limits, time.time() + 600))
    options = spec.container_options(
        limits, image=image_tag(), submission_dir=tmp / "submission", inputs_dir=tmp / "inputs",
        start_dir=tmp / "start", code_dir=tmp / "submission", volume=volume.name,
        deadline=time.time() + 600)
    if command:
        options["command"] = command
    container = client.containers.create(**options)
    container.start()
    container.reload()
    return container, volume


def _tmp_options(limits: Limits, tmp: Path) -> list[str]:
    options = spec.container_options(limits, image="", submission_dir=tmp, inputs_dir=tmp,
                                     start_dir=tmp, code_dir=tmp, volume="", deadline=0)
    return options["tmpfs"]["/tmp"].split(",")


def _remove(container, volume) -> None:
    container.remove(force=True)
    volume.remove(force=True)


def _cgroup(pid: int, controller: str) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path(f"/sys/fs/cgroup/{controller}{path}")
        if line.startswith("0::"):  # cgroup v2
            return Path(f"/sys/fs/cgroup{path}")
    raise AssertionError(f"no {controller} cgroup for {pid}")


def _exec(container, command: list[str], user: str = "10001:10001") -> tuple[int, str]:
    code, out = container.exec_run(command, user=user)
    return code, out.decode(errors="replace")


@pytest.mark.docker
@pytest.mark.podman
def test_podman_reports_that_it_enforces_every_limit(podman_engine):
    info = podman_engine.info()
    assert unenforced_limits(info) == []
    assert info["ServerVersion"] and not info.get("Rootless")


@pytest.mark.docker
@pytest.mark.podman
def test_every_limit_is_in_the_cgroups_podman_made(podman_engine, tmp_path):
    limits = Limits(memory="300m", cpus=0.5, pids=40, tmpfs="16m")
    container, volume = _container(podman_engine, limits, tmp_path)
    try:
        pid = container.attrs["State"]["Pid"]
        memory = _cgroup(pid, "memory")
        if (memory / "memory.limit_in_bytes").exists():  # cgroup v1, as here
            assert int((memory / "memory.limit_in_bytes").read_text()) == 300 * 1024**2
            assert int((memory / "memory.memsw.limit_in_bytes").read_text()) == 300 * 1024**2
            assert (_cgroup(pid, "pids") / "pids.max").read_text().strip() == "40"
            cpu = _cgroup(pid, "cpu")
            quota = int((cpu / "cpu.cfs_quota_us").read_text())
            period = int((cpu / "cpu.cfs_period_us").read_text())
            assert quota / period == pytest.approx(0.5)
        else:
            assert int((memory / "memory.max").read_text()) == 300 * 1024**2
            assert (memory / "memory.swap.max").read_text().strip() == "0"
            assert (memory / "pids.max").read_text().strip() == "40"
            quota, period = (memory / "cpu.max").read_text().split()
            assert int(quota) / int(period) == pytest.approx(0.5)
        mounts = {m.split()[1]: m.split()[3] for m in
                  Path(f"/proc/{pid}/mounts").read_text().splitlines()}
        # /tmp keeps every cap the spec gives it (an inode cap goes through a tmpfs
        # volume), /run and /var/tmp are read-only as on Docker
        for option in _tmp_options(limits, tmp_path):
            if option.startswith("nr_inodes="):
                assert option in mounts["/tmp"].split(","), mounts["/tmp"]
        assert "nosuid" in mounts["/tmp"] and "nodev" in mounts["/tmp"]
        for path in ("/run", "/var/tmp"):
            assert mounts[path].split(",")[0] == "ro", (path, mounts[path])
        assert mounts["/"].split(",")[0] == "ro"
    finally:
        _remove(container, volume)


@pytest.mark.docker
@pytest.mark.podman
def test_a_memory_bomb_is_killed_and_reported_as_oom(podman_engine, tmp_path):
    kit = small_kit(tmp_path / "kit", memory="300m")
    result = score_submission(kit, SUBMISSIONS / "memory_bomb",
                              backend=DockerBackend(engine="podman", warm=False)).result
    assert result.status == "oom", (result.status, result.reason, result.log_tail[-1500:])
    assert "memory limit of 300m" in result.reason


@pytest.mark.docker
@pytest.mark.podman
def test_cpu_stops_at_the_quota_and_a_fork_bomb_at_the_pids_limit(podman_engine, tmp_path):
    limits = Limits(memory="300m", cpus=0.5, pids=40)
    container, volume = _container(podman_engine, limits, tmp_path)
    try:
        usage = _cgroup(container.attrs["State"]["Pid"], "cpuacct") / "cpuacct.usage"
        spin = ("import threading, time\nend = time.time() + 3\n"
                "def spin():\n    while time.time() < end:\n        pass\n"
                "ts = [threading.Thread(target=spin) for _ in range(2)]\n"
                "[t.start() for t in ts]\n[t.join() for t in ts]\n")
        if usage.exists():  # cgroup v1, as here
            before, start = int(usage.read_text()), time.monotonic()
            _exec(container, ["python3", "-c", spin])
            used, wall = (int(usage.read_text()) - before) / 1e9, time.monotonic() - start
            assert 0 < used <= 0.5 * wall * 1.15 + 0.1, (used, wall)  # half a core at most

        # children close their output so the exec's stream ends with the parent
        fork_bomb = ("import os, time\nn = 0\ntry:\n    while True:\n"
                     "        if os.fork() == 0:\n            os.closerange(0, 1024)\n"
                     "            time.sleep(60)\n            os._exit(0)\n"
                     "        n += 1\nexcept OSError as e:\n    print(n, e.errno)\n")
        _, out = _exec(container, ["python3", "-c", fork_bomb])
        forked, errno = map(int, out.split()[-2:])
        assert errno == 11 and 30 <= forked < 40, out  # EAGAIN, within the 40 pids
    finally:
        _remove(container, volume)


@pytest.mark.docker
@pytest.mark.podman
def test_no_namespace_can_be_made_in_a_podman_container(podman_engine, tmp_path):
    container, volume = _container(podman_engine, Limits(), tmp_path)
    try:
        # unshare and a raw clone with CLONE_NEWUSER (x86-64 numbers), then a thread
        # (clone3 answers ENOSYS; the C library falls back to clone)
        probe = ("import ctypes, os, threading\n"
                 "libc = ctypes.CDLL(None, use_errno=True)\n"
                 "u = libc.unshare(0x10000000); ue = ctypes.get_errno()\n"
                 "c = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0); ce = ctypes.get_errno()\n"
                 "if c == 0: os._exit(0)\n"
                 "t = threading.Thread(target=print); t.start(); t.join()\n"
                 "print('RESULT', u, ue, c, ce)\n")
        _, out = _exec(container, ["python3", "-c", probe])
        # unshare: EPERM; the clone: refused by the profile's default (ENOSYS); the
        # thread started and ended
        assert "RESULT -1 1 -1 38" in out, out
    finally:
        _remove(container, volume)


@pytest.mark.docker
@pytest.mark.podman
def test_podmans_own_writable_places_are_closed_to_the_folds(podman_engine, tmp_path):
    submission = tmp_path / "probe"
    submission.mkdir()
    (submission / "classifier.py").write_text(
        "import os\n\n\nclass Classifier:\n    def fit(self, X, y):\n"
        "        found = []\n"
        "        for d in ('/run', '/var/tmp', '/run/lock', '/var/lib', '/home'):\n"
        "            try:\n"
        "                open(os.path.join(d, 'planted'), 'w').close()\n"
        "                found.append(d)\n"
        "            except OSError:\n"
        "                pass\n"
        "        raise RuntimeError(f'WRITABLE{found}')\n\n"
        "    def predict_proba(self, X):\n        raise AssertionError\n")
    kit = small_kit(tmp_path / "kit")
    result = score_submission(kit, submission,
                              backend=DockerBackend(engine="podman", warm=False)).result
    assert "WRITABLE[]" in result.reason, (result.reason, result.log_tail[-1500:])


@pytest.mark.docker
@pytest.mark.podman
def test_stale_podman_containers_go_with_the_volumes_made_for_them(podman_engine):
    # what a scorer killed mid-run leaves: a container past its deadline and the tmpfs
    # volume made for its /tmp; the next scorer finds both by their labels
    container = podman_engine.containers.create(
        image_tag(), ["sleep", "60"], tmpfs={"/tmp": "rw,size=1m,nr_inodes=100,mode=1777"},
        ulimits=spec.container_options(Limits(), image="", submission_dir=Path("/"),
                                       inputs_dir=Path("/"), start_dir=Path("/"),
                                       code_dir=Path("/"), volume="", deadline=0)["ulimits"],
        labels={spec.LABEL: "1", spec.DEADLINE_LABEL: str(int(time.time()) - 1)})
    container.start()
    container.reload()
    (made,) = [m["Name"] for m in container.attrs["Mounts"] if m.get("Type") == "volume"]
    assert podman_engine.volumes.get(made).attrs["Labels"][spec.LABEL] == "1"
    remove_stale(podman_engine)
    assert container.id not in {c.id for c in podman_engine.containers.list(all=True)}
    assert made not in {v.name for v in podman_engine.volumes.list()}


@pytest.mark.docker
@pytest.mark.podman
def test_missing_image_on_podman_says_how_to_load_it(podman_engine, tmp_path):
    kit = small_kit(tmp_path / "kit")
    backend = DockerBackend(image="gitramp-scorer:does-not-exist", engine="podman")
    with pytest.raises(GitrampError, match=r"docker save gitramp-scorer:does-not-exist \| "
                                           r"podman load"):
        score_submission(kit, SUBMISSIONS / "well_behaved", backend=backend)
