"""Every attack of tests/hostile/submissions, scored in a real container at once, on
Docker and on Podman (tests/conftest.py's container_engine).

All hostile submissions and one well-behaved control are scored concurrently (the
way a runner scores many pull requests), in one module-scoped run. Each test then
checks one attack: its status, a reason that says what happened, no score, and
(in test_the_control_is_untouched) that the control scored exactly as it does alone.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scorer.backends import docker_spec as spec
from scorer.backends.docker import DockerBackend
from scorer.data import load_data
from scorer.scoring import score_submission
from tests.hostile.sandbox_kit import SUBMISSIONS, small_kit

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CONTROL = "well_behaved"
# submission: (status, words the reason must contain)
CASES = {
    "loop_at_import": ("timeout", "ran longer than"),
    "loop_in_fit": ("timeout", "ran longer than"),
    "loop_in_predict": ("timeout", "ran longer than"),
    "output_flood": ("timeout", "ran longer than"),
    "memory_bomb": ("oom", "memory limit"),
    "memory_bomb_child": ("oom", "memory limit"),
    "fork_bomb": ("timeout", "ran longer than"),
    "thread_bomb": ("error", "stopped by the pids limit"),
    "network_dns": ("error", "network blocked"),
    "network_outside": ("error", "network blocked"),
    "network_gateway": ("error", "network blocked"),
    "hunt_labels": ("error", "no test labels found"),
    "output_symlink": ("invalid_output", "is a link"),
    "output_hardlink": ("invalid_output", "is a link"),
    "forged_score_file": ("invalid_output", "unexpected output files"),
    "forged_log_line": ("error", "the forged lines above must not count"),
    "predictions_nan": ("invalid_output", "finite numbers"),
    "predictions_wrong_length": ("invalid_output", "shape"),
    "predictions_strings": ("invalid_output", "expected numbers"),
    "predictions_pickle": ("invalid_output", "pickled objects are refused"),
    "predictions_huge": ("output_limit", "more output than"),
    "fill_tmp": ("error", "No space left on device"),
    "fill_shm": ("error", "No space left on device"),
    "fill_output_folder": ("output_limit", "more output than"),
    "write_submission_folder": ("error", "submission folder is read-only"),
    "write_data_folder": ("error", "data folder is read-only"),
    "setuid_root": ("error", "privileges refused"),
    "mount_attempt": ("error", "mount refused"),
    "unshare_attempt": ("error", "unshare refused"),
    "daemon_double_fork": ("error", "left a daemon behind"),
    "kill_pid1": ("error", "sent SIGTERM, SIGINT, SIGHUP and SIGKILL to PID 1"),
    "kill_everything": ("error", "killed by SIGKILL"),
}
SLOW_FIRST = sorted(CASES, key=lambda name: CASES[name][0] != "timeout")
DAEMON_MARK = b"sleep\x0031337"


def _tree(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns,
                                         p.stat().st_mode)
            for p in sorted(folder.rglob("*")) if "__pycache__" not in p.parts}


def _host_daemons() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/cmdline").read_bytes().startswith(DAEMON_MARK):
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


@pytest.fixture(scope="module")
def storm(container_engine, tmp_path_factory):
    """The control alone, then every attack and the control again, all at once, on
    each container engine (Docker, Podman)."""
    engine, client = container_engine
    kit = small_kit(tmp_path_factory.mktemp("hostile") / "iris_small")
    dataset = load_data(kit)
    backend = DockerBackend(engine=engine)
    trees = {name: _tree(SUBMISSIONS / name) for name in CASES}

    def score(name: str):
        return score_submission(kit, SUBMISSIONS / name, backend=backend, dataset=dataset)

    alone = score(CONTROL).result
    order = SLOW_FIRST[:6] + [CONTROL] + SLOW_FIRST[6:]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {name: pool.submit(score, name) for name in order}
        results = {name: f.result().result for name, f in futures.items()}
    backend.close()  # the container it prepared for a next submission
    return {"alone": alone, "results": results, "trees": trees,
            "leftovers": client.containers.list(all=True, filters={
                "label": f"{spec.OWNER_LABEL}={spec.owner()}"})}


@pytest.mark.parametrize("name", sorted(CASES))
def test_attack_gets_its_status_a_clear_reason_and_no_score(storm, name):
    result = storm["results"][name]
    status, words = CASES[name]
    assert result.status == status, (result.status, result.reason, result.log_tail[-2000:])
    assert result.reason and words.lower() in result.reason.lower(), result.reason
    assert result.folds == [] and result.bagged == {}
    assert result.image and result.image.startswith("gitramp-scorer:")


def test_the_control_is_untouched(storm):
    alone, stormy = storm["alone"], storm["results"][CONTROL]
    assert alone.status == "scored" and stormy.status == "scored", stormy.reason
    assert stormy.bagged == alone.bagged
    assert [f.scores for f in stormy.folds] == [f.scores for f in alone.folds]


def test_flood_is_capped_and_marked_as_cut(storm):
    tail = storm["results"]["output_flood"].log_tail
    assert "truncated" in tail
    assert len(tail) < 10_000


def test_no_submission_changed_its_own_files(storm):
    for name, tree in storm["trees"].items():
        assert _tree(SUBMISSIONS / name) == tree, name


def test_nothing_is_left_behind(storm):
    assert storm["leftovers"] == []
    assert _host_daemons() == []
