"""Which container engine the docker backend drives: Docker, or Podman through its
Docker-compatible API (`podman system service`), so a site without a Docker daemon
runs the same sandbox. The backend speaks the Docker API through the Docker SDK
either way; only the socket differs.

GITRAMP_ENGINE      docker | podman [docker]
GITRAMP_ENGINE_URL  the engine's API socket [docker: DOCKER_HOST or the default
                    socket; podman as root: unix:///run/podman/podman.sock, as
                    another user: unix://$XDG_RUNTIME_DIR/podman/podman.sock]

`gitramp score/scan --engine` and a runner file's `engine` reach the backend as GITRAMP_ENGINE.
Podman is fed the scoring image of the same tag with `docker save TAG | podman load`
(or builds it: runners/ENGINES.md). What each engine enforces, and what rootless
Podman cannot on a cgroup v1 machine, is in runners/ENGINES.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scorer.errors import GitrampError
from scorer.task import parse_size

ENGINES = ("docker", "podman")
ENGINE_VARIABLE, URL_VARIABLE = "GITRAMP_ENGINE", "GITRAMP_ENGINE_URL"
PODMAN_ROOT_SOCKET = "unix:///run/podman/podman.sock"
CLIENT_TIMEOUT = 300  # seconds: an exec's output stream may stay silent that long


def podman_socket(environ: Mapping[str, str] | None = None, uid: int | None = None) -> str:
    """Where `podman system service` listens by default: root's socket, or the user's."""
    env = os.environ if environ is None else environ
    uid = os.getuid() if uid is None else uid
    if uid == 0:
        return PODMAN_ROOT_SOCKET
    runtime = env.get("XDG_RUNTIME_DIR") or f"/run/user/{uid}"
    return f"unix://{runtime}/podman/podman.sock"


@dataclass(frozen=True)
class Engine:
    name: str = "docker"
    url: str | None = None  # None: Docker's own default (DOCKER_HOST, then its socket)

    def __post_init__(self):
        if self.name not in ENGINES:
            raise GitrampError(f"unknown container engine {self.name!r} (from "
                               f"{ENGINE_VARIABLE} or --engine); choose one of "
                               f"{', '.join(ENGINES)}")

    @classmethod
    def from_env(cls, name: str | None = None, url: str | None = None,
                 environ: Mapping[str, str] | None = None) -> Engine:
        """The engine named by the arguments, else by GITRAMP_ENGINE(_URL), else Docker."""
        env = os.environ if environ is None else environ
        name = (name or env.get(ENGINE_VARIABLE) or "docker").strip().lower()
        url = url or env.get(URL_VARIABLE) or None
        if url is None and name == "podman":
            url = podman_socket(env)
        return cls(name, url)

    def connect(self, timeout: int = CLIENT_TIMEOUT):
        """A Docker SDK client for this engine, checked to answer."""
        import docker

        try:
            client = sdk_client(self.url, timeout)
            client.ping()
            info = client.info()
        except docker.errors.DockerException as e:
            raise GitrampError(f"the docker backend needs a container engine, and none "
                               f"answers ({e}). {self.start_hint()}") from None
        missing = unenforced_limits(info)
        if missing:
            raise GitrampError(
                f"the {self.name} engine at {self.url or 'its default socket'} cannot "
                f"enforce {', '.join(missing)}, so a submission could take the whole "
                "machine; the docker backend refuses it. Run the engine as root, or "
                "rootless on cgroup v2 with the memory, pids and cpu controllers "
                "delegated to its user (runners/ENGINES.md).")
        return PodmanClient(client) if self.name == "podman" else client

    def start_hint(self) -> str:
        if self.name == "podman":
            url = self.url or PODMAN_ROOT_SOCKET
            return (f"Start Podman's Docker-compatible service: `podman system service "
                    f"--time=0 {url}` (see runners/ENGINES.md), or use --backend local.")
        return "Start dockerd (or Docker Desktop), or use --backend local."

    def image_hint(self, tag: str, build: str) -> str:
        """How to get the scoring image `tag` into this engine."""
        if self.name == "podman":
            return (f"Load it from Docker with `docker save {tag} | podman load`, or build "
                    f"it with `{build}` where Docker runs first (runners/ENGINES.md); "
                    "the tag stays the same.")
        return (f"Build it with `{build}` (`make image` in a checkout of gitramp); it "
                "takes about a minute and needs no registry.")


def sdk_client(url: str | None, timeout: int):
    """A Docker SDK client for the engine at `url` (None: Docker's own default), unchecked."""
    import docker

    client = (docker.DockerClient(base_url=url, timeout=timeout) if url
              else docker.from_env(timeout=timeout))
    if client.api.base_url.startswith("http+docker://"):  # a local socket
        # No proxy applies to a socket, and requests would look for one in the
        # environment on every call: a third of the scorer's CPU per API call.
        client.api.trust_env = False
    return client


LIMIT_FLAGS = {"MemoryLimit": "memory limits", "SwapLimit": "the no-swap limit",
               "PidsLimit": "process-count limits", "CpuCfsQuota": "CPU quotas"}


def unenforced_limits(info: Mapping) -> list[str]:
    """The container limits an engine says (in its `/info`) it cannot enforce. A
    rootless engine on cgroup v1 enforces none of them whatever its flags say: an
    unprivileged user cannot write the v1 hierarchy (Podman then ignores the limits
    with a warning the API does not return)."""
    rootless = bool(info.get("Rootless")) or any(
        "name=rootless" in str(o) for o in info.get("SecurityOptions") or [])
    if rootless and str(info.get("CgroupVersion", "")) == "1":
        return [*LIMIT_FLAGS.values()]
    return [what for flag, what in LIMIT_FLAGS.items() if info.get(flag) is False]


# ------------------------------------------------------------------ Podman's dialect
# The Docker API as Podman 4.3 (Debian 12) reads it differs in six places that matter
# to the sandbox; PodmanClient puts the backend's requests in Podman's terms, so the
# container is the one docker_spec.py describes:
# 1. a read-only root gets writable tmpfs mounts on /run and /var/tmp from Podman
#    (its --read-only-tmpfs, on by default, which the Docker API cannot turn off):
#    /var/tmp would be world-writable, unbounded but by memory, and never wiped
#    between folds. They are mounted read-only here, as Docker's root file system has them;
# 2. a tmpfs mount takes only size and mode, not nr_inodes: such a mount becomes a
#    tmpfs volume of this container, which takes any option mount(8) does, and is
#    removed with it;
# 3. a volume's `size=` is read as a disk quota, refused without project quotas (on
#    tmpfs too): `nr_blocks=` sets the same bound in pages;
# 4. without an nproc ulimit Podman asks for 4194304 processes per user, which runc
#    cannot set where root may not raise limits (no CAP_SYS_RESOURCE): the scorer's
#    own hard limit, at most 32768, is asked instead (the pids limit is the real bound);
# 5. State.OOMKilled says only whether the container's first process was killed for
#    memory; Docker says whether the kernel killed any process of the container. A
#    fold is not the first process, so the container's memory cgroup is asked for
#    its OOM-kill count just before the backend kills the container (the engine and
#    the scorer share a host: the backend binds the scorer's folders into it).
# 6. Podman's default seccomp profile lets any process call unshare, setns, mount and
#    clone with namespace flags (Docker's allows them with CAP_SYS_ADMIN only): a fold
#    could make a user namespace, be root in it and reach kernel code that Docker keeps
#    away. Containers get the engine's own profile with those calls refused unless
#    CAP_SYS_ADMIN (which nobody here holds), clone without namespace flags only, and
#    clone3 answered "not implemented", so the C library falls back to clone.
SECCOMP_PROFILES = ("/usr/share/containers/seccomp.json", "/etc/containers/seccomp.json")
NAMESPACE_CALLS = ("unshare", "setns", "mount", "umount", "umount2", "pivot_root",
                   "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig",
                   "fsmount", "fspick", "syslog", "keyctl", "add_key", "request_key")
CLONE_NEW_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
EPERM, ENOSYS = 1, 38
READ_ONLY_TMPFS = {"/run": "ro,nosuid,nodev,noexec,size=64k,mode=755",
                   "/var/tmp": "ro,nosuid,nodev,noexec,size=64k,mode=755"}
VOLUME_ONLY_OPTIONS = ("nr_inodes", "nr_blocks")  # tmpfs options only a volume carries
NPROC_CEILING = 32768


def podman_volume_options(options: dict) -> dict:
    """The same tmpfs volume in Podman's terms (3. above)."""
    opts = dict(options.get("driver_opts") or {})
    if opts.get("type") != "tmpfs" or "o" not in opts:
        return options
    page = os.sysconf("SC_PAGE_SIZE")
    parts = []
    for part in opts["o"].split(","):
        key, _, value = part.partition("=")
        if key == "size" and parse_size(value) is not None:
            part = f"nr_blocks={-(-parse_size(value) // page)}"
        parts.append(part)
    return {**options, "driver_opts": {**opts, "o": ",".join(parts)}}


def _nproc() -> int:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    return NPROC_CEILING if hard == resource.RLIM_INFINITY else min(hard, NPROC_CEILING)


def tightened_seccomp(profile: dict) -> dict:
    """Podman's seccomp profile with namespace and mount calls refused (6. above)."""
    refused = set(NAMESPACE_CALLS) | {"clone", "clone3"}
    rules = []
    for rule in profile.get("syscalls") or []:
        unconditional = (rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args")
                         and not (rule.get("includes") or {}) and not (rule.get("excludes") or {}))
        if unconditional:
            rule = {**rule, "names": [n for n in rule.get("names", []) if n not in refused]}
        elif rule.get("action") == "SCMP_ACT_ALLOW":
            rule = {**rule, "names": [n for n in rule.get("names", [])
                                      if n not in refused or rule.get("includes", {}).get("caps")]}
        if rule.get("names"):
            rules.append(rule)
    rules += [
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": CLONE_NEW_FLAGS, "valueTwo": 0,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS},
        {"names": list(NAMESPACE_CALLS), "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": list(NAMESPACE_CALLS), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM,
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    ]
    return {**profile, "syscalls": rules}


def seccomp_profile_file() -> str:
    """The tightened profile, written once beside the engine (same host), by content."""
    import hashlib
    import json
    import tempfile

    for source in SECCOMP_PROFILES:
        if os.path.isfile(source):
            break
    else:
        raise GitrampError(
            "Podman's seccomp profile was not found (" + ", ".join(SECCOMP_PROFILES) + "); "
            "without it the backend cannot refuse namespace calls in the container. "
            "Install containers-common (it comes with podman).")
    with open(source) as f:
        data = json.dumps(tightened_seccomp(json.load(f)), sort_keys=True).encode()
    folder = Path(tempfile.gettempdir()) / f"gitramp-seccomp-{os.getuid()}"
    folder.mkdir(mode=0o755, exist_ok=True)
    st = folder.lstat()  # someone else's folder could swap the profile under the engine
    if st.st_uid != os.getuid() or st.st_mode & 0o022 or not folder.is_dir() \
            or folder.is_symlink():
        raise GitrampError(f"{folder} is not a folder of this user's that only it may "
                           "write; remove it so the seccomp profile can be written there")
    path = folder / f"podman-{hashlib.sha256(data).hexdigest()[:16]}.json"
    if not path.is_file() or path.read_bytes() != data:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o644)
        os.replace(tmp, path)  # appears whole
    return str(path)


class _PodmanVolumes:
    def __init__(self, volumes):
        self._volumes = volumes

    def create(self, *args, **kwargs):
        return self._volumes.create(*args, **podman_volume_options(kwargs))

    def __getattr__(self, name):
        return getattr(self._volumes, name)


def oom_kills(pid: int) -> int:
    """How many processes the kernel killed for memory in the memory cgroup of
    process `pid` (cgroup v1 or v2); 0 when that cannot be read."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            counters = Path(f"/sys/fs/cgroup/memory{path}/memory.oom_control")
            break
        if line.startswith("0::"):
            counters = Path(f"/sys/fs/cgroup{path}/memory.events")
            break
    else:
        return 0
    try:
        for line in counters.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


class _PodmanContainer:
    """A container and the tmpfs volumes made for it, removed together; its
    OOMKilled state counts every process of it (5. above)."""

    def __init__(self, container, volumes: list):
        self._container, self._volumes = container, volumes
        self._oom_killed = False

    @property
    def attrs(self) -> dict:
        attrs = self._container.attrs
        if self._oom_killed:
            attrs.setdefault("State", {})["OOMKilled"] = True
        return attrs

    def kill(self, *args, **kwargs):
        try:
            self._container.reload()
            pid = self._container.attrs.get("State", {}).get("Pid") or 0
            self._oom_killed = self._oom_killed or (pid > 0 and oom_kills(pid) > 0)
        except Exception:  # noqa: BLE001 - the engine's own report still stands
            pass
        return self._container.kill(*args, **kwargs)

    def remove(self, **kwargs):
        import docker

        try:
            return self._container.remove(**kwargs)
        finally:
            for volume in self._volumes:
                try:
                    volume.remove(force=True)
                except docker.errors.APIError:
                    pass  # a later scorer's remove_stale finds it by its labels

    def __getattr__(self, name):
        return getattr(self._container, name)


class _PodmanContainers:
    def __init__(self, containers, volumes: _PodmanVolumes):
        self._containers, self._volumes = containers, volumes

    def create(self, *args, **kwargs):
        from docker.types import Mount, Ulimit

        kwargs = dict(kwargs)
        tmpfs = dict(kwargs.get("tmpfs") or {})
        if kwargs.get("read_only"):
            for path, options in READ_ONLY_TMPFS.items():
                tmpfs.setdefault(path, options)
        made, mounts = [], list(kwargs.get("mounts") or [])
        try:
            for path, options in list(tmpfs.items()):
                keys = {o.partition("=")[0] for o in options.split(",")}
                if keys.isdisjoint(VOLUME_ONLY_OPTIONS):
                    continue
                opts = ",".join(o for o in options.split(",") if o not in ("rw", ""))
                made.append(self._volumes.create(
                    driver="local", labels=dict(kwargs.get("labels") or {}),
                    driver_opts={"type": "tmpfs", "device": "tmpfs", "o": opts}))
                mounts.append(Mount(path, made[-1].name, type="volume"))
                del tmpfs[path]
            kwargs.update(tmpfs=tmpfs, mounts=mounts)
            security = list(kwargs.get("security_opt") or [])
            if not any(o.startswith("seccomp") for o in security):
                kwargs["security_opt"] = [*security, f"seccomp={seccomp_profile_file()}"]
            ulimits = list(kwargs.get("ulimits") or [])
            if not any(u["Name"] == "nproc" for u in ulimits):
                n = _nproc()
                kwargs["ulimits"] = [*ulimits, Ulimit(name="nproc", soft=n, hard=n)]
            return _PodmanContainer(self._containers.create(*args, **kwargs), made)
        except BaseException:
            for volume in made:
                volume.remove(force=True)
            raise

    def __getattr__(self, name):
        return getattr(self._containers, name)


class PodmanClient:
    """A Docker SDK client on Podman's socket that puts the backend's requests in
    Podman's terms (above); everything else passes through."""

    def __init__(self, client):
        self._client = client
        self.volumes = _PodmanVolumes(client.volumes)
        self.containers = _PodmanContainers(client.containers, self.volumes)

    def __getattr__(self, name):
        return getattr(self._client, name)
