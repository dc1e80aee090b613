"""The Docker backend: its container settings and readers (no engine needed), then
real runs against the engine (same scores as the local backend, progress, image
digest, stale containers, the sandbox as seen from inside)."""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
import time

import pytest

from challenge.errors import GitrampError
from challenge.kit import Limits, load_kit
from scorer.backends import docker_spec as spec
from scorer.backends import get_backend
from scorer.backends.docker import DockerBackend, decide, remove_stale
from scorer.backends.docker_image import image_tag, kit_requirements_hash, recipe_hash
from scorer.backends.docker_io import LogCapture, OutputLimit, UnsafeOutput, read_outputs
from scorer.backends.docker_slot import CREATED, ENDED, Slot, exec_state
from scorer.backends.local import LocalBackend
from scorer.scoring import score_submission
from tests.conftest import ROOT
from tests.hostile.sandbox_kit import SUBMISSIONS, small_kit

IRIS = ROOT / "kits" / "iris"


# ------------------------------------------------------------------ container settings
def _options(**limits):
    return spec.container_options(Limits(**limits), image="img", submission_dir=ROOT,
                                  inputs_dir=ROOT, start_dir=ROOT, code_dir=ROOT,
                                  volume="vol", deadline=0)


def test_container_has_every_protection_sized_from_the_limits():
    o = _options(memory="512m", cpus=1.5, pids=99, tmpfs="32m", max_output_bytes=1000)
    assert o["network_mode"] == "none" and o["read_only"] is True
    assert o["cap_drop"] == ["ALL"] and o["security_opt"] == ["no-new-privileges"]
    assert o["pids_limit"] == 99
    assert o["mem_limit"] == o["memswap_limit"] == 512 * 1024**2
    assert o["nano_cpus"] == 1_500_000_000
    # root only for the supervisor's few capabilities; folds run as 10001+ (probe below)
    assert o["user"] == "0:0" and o["cap_add"] == spec.SUPERVISOR_CAPS
    assert o["environment"]["OMP_NUM_THREADS"] == o["environment"]["OPENBLAS_NUM_THREADS"] == "1"
    ulimits = {u["Name"]: u["Hard"] for u in o["ulimits"]}
    assert ulimits["core"] == 0 and ulimits["nofile"] == spec.NOFILE
    assert ulimits["fsize"] == 32 * 1024**2
    assert "size=33554432" in o["tmpfs"]["/tmp"] and o["shm_size"] == 32 * 1024**2
    assert o["labels"][spec.LABEL] == "1" and o["log_config"] == {"type": "none"}
    assert all(m["ReadOnly"] for m in o["mounts"] if m["Target"] != spec.OUT)
    assert "device_requests" not in o


def test_gpus_go_through_device_requests_only_when_asked():
    o = _options(gpus=2)
    (request,) = o["device_requests"]
    assert request["Count"] == 2 and request["Capabilities"] == [["gpu"]]


def test_output_volume_is_a_capped_tmpfs_owned_by_the_submission_user():
    o = spec.output_volume_options(Limits(max_output_bytes=5_000_000), deadline=0)
    assert o["driver_opts"]["type"] == "tmpfs"
    assert f"size={5_000_000 + 1024**2}" in o["driver_opts"]["o"]
    assert "uid=10001" in o["driver_opts"]["o"]


def test_image_tag_follows_recipe_and_kit_requirements(tmp_path):
    for name in ("build_image.sh", "Dockerfile", "requirements.txt"):
        (tmp_path / name).write_text(name)
    before = recipe_hash(tmp_path)
    (tmp_path / "requirements.txt").write_text("numpy==1.0\n")
    assert recipe_hash(tmp_path) != before
    assert kit_requirements_hash([]) is None
    assert kit_requirements_hash(["xgboost==2", "# c", ""]) == kit_requirements_hash(["xgboost==2"])
    tag = image_tag(kit_requirements_hash(["xgboost==2"]), tmp_path)
    assert re.fullmatch(r"gitramp-scorer:[0-9a-f]{12}-[0-9a-f]{12}", tag)


# ------------------------------------------------------------------ readers
def _tar(entries) -> list[bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        root = tarfile.TarInfo("out")
        root.type = tarfile.DIRTYPE
        tar.addfile(root)  # the engine's archive starts with the folder itself
        for name, kind, payload in entries:
            info = tarfile.TarInfo(f"out/{name}")
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                             "dir": tarfile.DIRTYPE, "fifo": tarfile.FIFOTYPE}[kind]
                info.linkname = payload.decode()
                tar.addfile(info)
    data = buf.getvalue()
    return [data[i:i + 700] for i in range(0, len(data), 700)]


def test_read_outputs_keeps_allowlisted_files_and_names_the_others():
    files = read_outputs(_tar([("fold_0.json", "file", b"{}"), ("notes.txt", "file", b"hi")]),
                         1000)
    assert files == {"fold_0.json": b"{}", "notes.txt": b""}


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_read_outputs_refuses_links(kind):
    with pytest.raises(UnsafeOutput, match="is a link"):
        read_outputs(_tar([("fold_0_test.npy", kind, b"/inputs/y_train.npy")]), 1000)


@pytest.mark.parametrize("entries", [[("sub", "dir", b"")], [("fold_0.json", "fifo", b"")],
                                     [("sub/fold_0.json", "file", b"{}")]])
def test_read_outputs_refuses_anything_but_plain_files(entries):
    with pytest.raises(UnsafeOutput):
        read_outputs(_tar(entries), 1000)


def test_read_outputs_counts_every_file_against_the_cap():
    with pytest.raises(OutputLimit):
        read_outputs(_tar([("fold_0.json", "file", b"{}"), ("junk", "file", b"x" * 2000)]),
                     1000)


def test_read_outputs_refuses_a_broken_stream():
    data = b"".join(_tar([("fold_0.json", "file", b"{}" * 600)]))
    with pytest.raises(UnsafeOutput, match="could not be read"):
        read_outputs([data[:1500]], 10_000)  # cut inside the file's data


def test_log_capture_keeps_head_and_tail_and_marks_the_cut():
    seen = []
    log = LogCapture(2000, seen.append)
    log.feed(b"first line\n")
    for i in range(1000):
        log.feed(f"line {i}\ningest: fold {i % 3} done\n".encode())
    text = log.text()
    assert log.truncated and text.startswith("first line")
    assert "bytes of output cut here" in text and text.rstrip().endswith("ingest: fold 0 done")
    assert len(text) < 2200
    assert set(seen) == {0, 1, 2}


def test_status_comes_from_engine_clock_and_reader_in_that_order():
    limits = Limits()
    assert decide(True, True, OutputLimit("x"), [1], limits)[0] == "oom"
    assert decide(True, False, OutputLimit("x"), [1], limits)[0] == "timeout"
    assert decide(False, True, OutputLimit("x"), [0], limits)[0] == "oom"
    assert decide(False, False, OutputLimit("x"), [0], limits)[0] == "output_limit"
    assert decide(False, False, UnsafeOutput("x"), [0], limits)[0] == "invalid_output"
    assert decide(False, False, None, [0, 137], limits) == (
        "error", "the submission's process was killed by SIGKILL")
    assert decide(False, False, None, [None], limits)[0] == "error"
    assert decide(False, False, None, [0, 0], limits) == ("ok", None)


def test_get_backend_builds_the_docker_backend():
    backend = get_backend("docker", image="some:tag")
    assert isinstance(backend, DockerBackend) and backend.image == "some:tag"


# ------------------------------------------------------------------ against the engine
@pytest.mark.docker
def test_docker_scores_like_the_local_backend_and_reports_progress(docker_engine):
    kit = load_kit(IRIS)
    done = []
    docker_run = score_submission(kit, IRIS / "submissions" / "starting_kit",
                                  backend=DockerBackend(), progress=done.append, jobs=2).result
    local_run = score_submission(kit, IRIS / "submissions" / "starting_kit",
                                 backend=LocalBackend()).result
    assert docker_run.status == "scored", docker_run.reason
    assert sorted(done) == list(range(len(docker_run.folds)))
    for split, scores in local_run.bagged.items():
        for name, value in scores.items():
            assert docker_run.bagged[split][name] == pytest.approx(value, abs=1e-9)
    assert re.fullmatch(r"gitramp-scorer:\S+@sha256:[0-9a-f]{64}", docker_run.image)


@pytest.mark.docker
def test_sandbox_as_seen_from_inside(container_engine, tmp_path):
    kit = small_kit(tmp_path / "kit", cpus=2, memory="300m")
    engine, _ = container_engine  # on Docker and on Podman
    scored = score_submission(kit, SUBMISSIONS / "probe_sandbox",
                              backend=DockerBackend(engine=engine))
    # the facts are longer than the one-line reason's bound: read them from the
    # traceback, which the scorer keeps whole (up to 8,000 characters) for the run's log
    traceback = (scored.error or {}).get("traceback") or ""
    facts = json.loads(traceback.split("PROBE")[-2])
    assert facts["uid"] == 10001 and facts["gid"] == 10001
    assert facts["no_new_privs"] == "1"
    assert int(facts["cap_eff"], 16) == 0 and int(facts["cap_bnd"], 16) == 0
    assert set(facts["threads"].values()) == {"2"}
    assert facts["core"] == 0 and facts["nofile"] == spec.NOFILE
    assert facts["fsize"] == 16 * 1024**2  # the tmpfs size of the small kit
    assert facts["interfaces"] == ["lo"]
    assert facts["writable"] == {"/": False, "/usr": False, "/etc": False, "/tmp": True,
                                 "/dev/shm": True, "/inputs": False, "/submission": False}
    assert facts["inputs"] == ["X_test.pkl", "X_train.pkl", "folds.npz", "labels.json"]
    assert not [k for k in facts["env_keys"] if re.search("TOKEN|SECRET|KEY|PASS", k)]


@pytest.mark.docker
def test_stale_containers_go_and_live_ones_stay(docker_engine):
    tag = image_tag()
    stale = docker_engine.containers.run(tag, ["sleep", "60"], detach=True, labels={
        spec.LABEL: "1", spec.DEADLINE_LABEL: str(int(time.time()) - 1)})
    live = docker_engine.containers.run(tag, ["sleep", "60"], detach=True, labels={
        spec.LABEL: "1", spec.DEADLINE_LABEL: str(int(time.time()) + 600)})
    try:
        remove_stale(docker_engine)
        ids = {c.id for c in docker_engine.containers.list(all=True)}
        assert stale.id not in ids and live.id in ids
    finally:
        for c in (stale, live):
            try:
                c.remove(force=True)
            except Exception:
                pass


@pytest.mark.docker
def test_missing_image_says_how_to_build_it(docker_engine, tmp_path):
    kit = small_kit(tmp_path / "kit")
    backend = DockerBackend(image="gitramp-scorer:does-not-exist")
    with pytest.raises(GitrampError, match="make image"):
        score_submission(kit, SUBMISSIONS / "well_behaved", backend=backend)


# ------------------------------------------------------------------ imports ahead
def test_only_fixed_library_groups_are_imported_ahead():
    from scorer.preimport import AHEAD, ahead_groups, import_ahead

    assert ahead_groups(["numpy", "sklearn.ensemble", "os.path"]) == ["sklearn"]
    assert ahead_groups(["numpy", "pandas"]) == []
    assert set(ahead_groups(["scipy.signal", "sklearn"])) == {"scipy", "sklearn"}
    # what a submission names is never imported ahead unless it is one of the groups
    import sys

    before = set(sys.modules)
    import_ahead(["this", "antigravity", "sklearn.svm"])
    assert set(sys.modules) == before and "this" not in AHEAD


NUMPY_ONLY = '''import sys

import numpy as np


class Classifier:
    def fit(self, X, y):
        raise RuntimeError(f"PRELOADED={'sklearn' in sys.modules}")

    def predict_proba(self, X):
        return np.zeros((len(X), 3))
'''


@pytest.mark.docker
def test_a_spare_imports_ahead_what_the_submission_before_it_used(docker_engine, tmp_path):
    """The container prepared for the next submission imports scikit-learn ahead only
    when the one before used it: a numpy-only queue does not pay for it."""
    kit = load_kit(IRIS)
    numpy_only = tmp_path / "numpy_only"
    numpy_only.mkdir()
    (numpy_only / "classifier.py").write_text(NUMPY_ONLY)
    backend = DockerBackend(warm=True)
    try:
        def preloaded() -> str:
            scored = score_submission(kit, numpy_only, backend=backend)
            return re.search(r"PRELOADED=(\w+)", scored.error["traceback"]).group(1)

        assert preloaded() == "False"  # a first container, for a numpy-only submission
        assert preloaded() == "False"  # the spare that submission left
        ran = score_submission(kit, IRIS / "submissions" / "starting_kit", backend=backend)
        assert ran.result.status == "scored"
        assert preloaded() == "True"  # the spare the scikit-learn submission left
    finally:
        backend.close()


def test_a_run_takes_the_spare_still_being_prepared_rather_than_racing_it(monkeypatch):
    """A submission that comes while its spare is still starting (a loaded runner) waits
    for that spare, with the libraries the one before used, instead of starting a second
    container beside it."""
    import threading

    import scorer.backends.docker as docker_backend

    started = threading.Event()
    release = threading.Event()
    made: list[list[str]] = []

    class SlowSlot:  # a container whose start takes as long as the test says
        fresh = True

        def __init__(self, client, image_id, limits, code_dir, ahead):
            made.append(list(ahead))
            if len(made) == 1:  # the spare, prepared in the background
                started.set()
                assert release.wait(10)
            self.ahead = list(ahead)

        def remove(self) -> None:
            pass

    monkeypatch.setattr(docker_backend, "Slot", SlowSlot)
    backend = DockerBackend(client=object(), warm=True)
    try:
        backend._prepare_spare("image", "limits", ["sklearn"])
        assert started.wait(10)
        taken: list = []
        taker = threading.Thread(
            target=lambda: taken.append(backend._take("image", "limits", [])))
        taker.start()
        time.sleep(0.3)
        assert not taken  # waiting for the spare being prepared, not making another
        release.set()
        taker.join(10)
        assert [s.ahead for s in taken] == [["sklearn"]]
        assert made == [["sklearn"]]  # one container in all
    finally:  # a failure leaves no thread waiting
        release.set()
        backend.close()


@pytest.mark.docker
def test_a_run_the_engine_has_not_started_yet_is_waited_for(container_engine):
    """Before an exec starts, Podman gives 0 as its exit code (Docker gives none): a
    slot took such a run for one that had ended, killed its container under it, and
    the submission read "killed by SIGKILL" with an empty log on a busy host."""
    _, client = container_engine
    box = client.containers.create(image_tag(), ["sleep", "120"], user="0:0",
                                   network_mode="none", ulimits=_options()["ulimits"])
    try:
        box.start()
        run = client.api.exec_create(box.id, ["sh", "-c", "exit 3"])["Id"]
        assert exec_state(client.api.exec_inspect(run)) == CREATED
        attached = threading.Event()  # its stream thread, still waiting to be served
        stream = threading.Thread(target=attached.wait, daemon=True)
        stream.start()
        slot = object.__new__(Slot)  # only what wait() and exit_codes() read
        slot.client, slot.runs, slot.groups = client, [(run, LogCapture(100), stream)], [[0]]
        assert slot.wait(0.5) is False  # still not started at the deadline: not ended
        assert slot.exit_codes() == [None]

        list(client.api.exec_start(run, stream=True))  # runs it to its end
        attached.set()
        stream.join()
        assert slot.wait(10) is True
        assert exec_state(client.api.exec_inspect(run)) == ENDED
        assert slot.exit_codes() == [3]
    finally:
        box.remove(force=True)
