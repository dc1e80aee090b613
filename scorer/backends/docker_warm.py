"""The container's ingestion supervisor: gitramp's own code, run as root with a few
capabilities, that runs a submission's folds one after the other, each under a user
of its own, and leaves nothing of one fold to the next.

    python3 -P /opt/gitramp/scorer/backends/docker_warm.py [GROUP ...]

It is started (as an `exec`, user 0) while the scorer is still busy with the
previous submission: it imports numpy and pandas, and the library groups named
(scorer.preimport.AHEAD: those the previous submission used), then waits for the
start file /start/go.json (written by the scorer into a read-only mount). Once
there, it imports whatever else its submission names, before the first fold.
It never loads a label. For fold i it runs scorer.ingest.supervise with the
`UserFence` below:

1. prepare: the fold's work folder /out/.fold_<i> is made and given to user
   UID+i (fold 0 runs as UID, the image's user).
2. the fold process, forked from this one and still root, reads
   /start/labels/fold_<i>.npy (the labels of fold i's training rows; the folder
   is 0700 and not owned by any fold's user), then drops every capability from its
   bounding set, sets no supplementary group, gid and uid UID+i (real, effective,
   saved), checks that it holds no capability and only then runs submission code.
   It cannot read the other folds' label files, nor this process's memory, nor
   signal it.
3. clean, once the fold process has ended: every process of user UID+i is
   killed (again until none is left; orphans are reparented to this process, a
   child subreaper, and reaped), its System V IPC objects are removed by a helper
   running as that user and /proc/sysvipc is checked empty, and /tmp, /dev/shm
   and /dev/mqueue are emptied. The fold's files in its work folder are moved into
   /out, which belongs to root (mode 0711) so no fold can read or change another's.
   Anything that cannot be cleaned stops the run (exit status 125): no fold starts
   next to what another fold left.

Folds of one submission therefore run one after the other in a container; `jobs`
does not run them side by side there (two folds alive at once could talk over the
loopback or /tmp). PID 1 of the container is root's `sleep`: no fold can signal
it or ptrace it into a go-between (scorer/backends/docker_spec.py).

What remains: fold processes of one submission share the kernel's counters of
the container (process ids, inode numbers, the used space of /out) and the
machine's load; a fold could modulate them for the next one to read. These carry
a few bits per fold at most and need the submission's own cooperation across
folds; a fresh container per fold would close those of the container, at about
one second of CPU per fold.

It imports nothing of gitramp but scorer.ingest and scorer.preimport (and what
those import): the scorer.backends package brings what the image lacks, so this
file is run by path.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from scorer import ingest  # numpy and pandas with it
from scorer.preimport import import_ahead, import_libraries

START, SUBMISSION, INPUTS, OUT = "/start", "/submission", "/inputs", "/out"
LABELS = f"{START}/labels"
SCRATCH = ("/tmp", "/dev/shm", "/dev/mqueue")  # every place a fold's user can write, but /out
SYSVIPC = ("shm", "sem", "msg")
BREACH = 125  # exit status when a fold's leftovers cannot be cleaned
KILL_PATIENCE = 10.0  # seconds to wait for a fold's processes to be gone

PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 4, 24, 36, 38
IPC_RMID = 0
_libc = ctypes.CDLL(None, use_errno=True)


class FenceBreached(RuntimeError):
    pass


def _prctl(option: int, arg: int) -> int:
    return _libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0),
                       ctypes.c_ulong(0))


class UserFence(ingest.Fence):
    """Each fold under its own user, wiped after; see the module doc."""

    def __init__(self, labels: Path, base_uid: int):
        self.labels = Path(labels)
        self.base_uid = base_uid

    def uid(self, fold: int) -> int:
        return self.base_uid + fold

    def prepare(self, fold: int, work: Path) -> None:
        os.chown(work, self.uid(fold), self.uid(fold))

    def enter(self, fold: int) -> None:
        uid = self.uid(fold)
        os.setsid()
        last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        for cap in range(last + 1):
            _prctl(PR_CAPBSET_DROP, cap)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        _check_unprivileged(uid)
        os.environ["HOME"] = "/tmp"
        os.chdir("/tmp")

    def clean(self, fold: int) -> None:
        uid = self.uid(fold)
        kill_user(uid)
        remove_ipc(uid)
        wipe_scratch()


def _check_unprivileged(uid: int) -> None:
    """Refuse to go on unless the drop took: no capability in any set, one user, one group."""
    status = dict(line.split(":", 1) for line in
                  Path("/proc/self/status").read_text().splitlines() if ":" in line)
    caps = {k: int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
            if k in status}
    if (os.getresuid() != (uid,) * 3 or os.getresgid() != (uid,) * 3 or os.getgroups()
            or any(caps.values()) or status.get("NoNewPrivs", "").strip() != "1"):
        raise FenceBreached(f"the fold process could not drop to user {uid}: {caps}")


def _processes_of(uid: int) -> list[int]:
    mine, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, mine):
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:  # gone meanwhile
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                if str(uid) in line.split()[1:]:
                    found.append(int(entry))
                break
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_user(uid: int) -> None:
    """SIGKILL every process of `uid`, again until none is left (zombies included:
    orphans are reparented to this subreaper, which reaps them)."""
    deadline = time.monotonic() + KILL_PATIENCE
    while True:
        _reap()
        pids = _processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise FenceBreached(f"processes {pids[:5]} of user {uid} outlived SIGKILL")
        time.sleep(0.001)


def _ipc_objects() -> list[tuple[str, int]]:
    objects = []
    for kind in SYSVIPC:
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        objects += [(kind, int(line.split()[1])) for line in lines if line.strip()]
    return objects


def remove_ipc(uid: int) -> None:
    """Remove the System V message queues, semaphores and shared memory the fold
    made. Only their creator (or CAP_SYS_ADMIN, which nobody here has) may, so a
    helper does it as the fold's user, once every process of that user is gone."""
    objects = _ipc_objects()
    if not objects:
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for kind, ident in objects:
                if kind == "shm":
                    _libc.shmctl(ident, IPC_RMID, None)
                elif kind == "sem":
                    _libc.semctl(ident, 0, IPC_RMID)
                else:
                    _libc.msgctl(ident, IPC_RMID, None)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    left = _ipc_objects()
    if left:
        raise FenceBreached(f"System V IPC objects {left[:5]} outlived the fold")


def wipe_scratch() -> None:
    for top in SCRATCH:
        if not os.path.isdir(top):
            continue
        for entry in os.scandir(top):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)  # fd-based: never follows a link out
            else:
                os.unlink(entry.path)
        if os.listdir(top):
            raise FenceBreached(f"{top} could not be emptied")


def _check_labels(folder: Path, base_uid: int, n_folds: int) -> None:
    """The label files must be readable by root only: not by group or others, and
    not owned by any fold's user (the scorer's own user owns them on the host)."""
    for path in (folder, *folder.iterdir()):
        st = os.lstat(path)
        if st.st_mode & 0o077 or base_uid <= st.st_uid < base_uid + n_folds:
            raise FenceBreached(f"{path} is readable by a fold's user (mode "
                                f"{st.st_mode & 0o777:o}, owner {st.st_uid}); refusing to run")


def main(ahead: list[str]) -> int:
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    import_ahead(ahead)  # before the submission is known: see scorer.preimport.AHEAD
    path = os.path.join(START, "go.json")
    while not os.path.exists(path):
        time.sleep(0.002)
    with open(path) as f:
        order = json.load(f)
    try:
        _check_labels(Path(LABELS), order["uid"], order["n_folds"])
        os.chown(OUT, 0, 0)  # the volume is made for the image's user: take it back
        os.chmod(OUT, 0o711)  # folds reach their own work folder, list nothing
        os.environ.update(order["env"])  # for processes the submission starts
        import_libraries(order.get("imports", []))  # installed ones the submission names
        threadpool_limits(int(order["threads"]))  # for the pools loaded here so far
        wipe_scratch()  # every fold starts from empty scratch places
        return ingest.supervise(order["workflow"], Path(SUBMISSION), Path(INPUTS),
                                Path(OUT), None, UserFence(Path(LABELS), order["uid"]))
    except FenceBreached as e:
        print(f"ingest: the sandbox refused to go on: {e}", file=sys.stderr, flush=True)
        return BREACH


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
