"""A challenge's name comes from its kit, never from the folder it is checked out to:
the workflows check a kit repository out to `trusted/`, and its ledger must still be
`leaderboard_data/<kit name>/`."""

from __future__ import annotations

import pygit2
import pytest

from challenge import repo as gitrepo
from challenge.hub import commit_files, demo_phases, with_phases
from challenge.kit import KitError, load_kit
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.scan import scan
from gitramp.main import main as cli
from tests.gitramp_hubs import CLOSED_NOW, KITS, START, example, make_hub


def test_a_kit_exported_to_trusted_records_under_its_own_name(tmp_path):
    out = tmp_path / "trusted"  # where the workflows check the kit out
    assert cli(["init", str(KITS / "iris"), "--out", str(out)]) == 0
    spec = (out / "challenge.yml").read_bytes()
    assert spec.startswith(b"name: iris")
    assert load_kit(out).name == "iris"
    repo = pygit2.Repository(str(out))
    assert [k.name for k in gitrepo.find_kits(repo, repo.head.peel(pygit2.Commit).tree)] \
        == ["iris"]
    # the closed phase made current, and one submission scored there
    commit_files(repo, "refs/heads/main", {"challenge.yml": with_phases(
        spec, demo_phases(START))}, message="dates")
    commit_files(repo, "refs/heads/submit/red/rf",
                 {f"submissions/rf/{k}": v for k, v in example("iris", "random_forest").items()},
                 parent=repo.references["refs/heads/main"].target, message="rf")
    outcomes = scan(out, Options(now=CLOSED_NOW, quick=True, runner="test-runner"))
    assert [o.status for o in outcomes] == ["scored"]
    assert outcomes[0].path.startswith("leaderboard_data/iris/rf/")
    assert [r.challenge for r in Ledger(out).records()] == ["iris"]
    assert cli(["leaderboard", "--repo", str(out), "--challenge", "iris", "--json"]) == 0


def test_a_kit_names_itself_in_challenge_yml_wherever_it_is(tmp_path):
    folder = tmp_path / "checkout"
    folder.mkdir()
    spec = (KITS / "iris" / "challenge.yml").read_text()
    (folder / "challenge.yml").write_text("name: flowers\n" + spec)
    assert load_kit(folder).name == "flowers"
    (folder / "challenge.yml").write_text(spec)  # no name: the folder's, as before
    assert load_kit(folder).name == "checkout"
    (folder / "challenge.yml").write_text("name: ../elsewhere\n" + spec)
    with pytest.raises(KitError, match="name"):
        load_kit(folder)


def test_in_a_hub_the_kit_folder_is_the_name_and_a_different_name_is_refused(tmp_path):
    hub = make_hub(tmp_path)
    head = hub.references["refs/heads/main"].target
    spec = hub[head].tree["kits/iris/challenge.yml"]
    commit_files(hub, "refs/heads/main", {"kits/iris/challenge.yml": b"name: iris\n"
                                          + hub[spec.id].data}, message="named")
    main = gitrepo.head_commit(hub)
    loc = gitrepo.find_kits(hub, main.tree)[0]
    assert gitrepo.load_kit_at(hub, main, loc).name == "iris"
    commit_files(hub, "refs/heads/main", {"kits/iris/challenge.yml": b"name: lilies\n"
                                          + hub[spec.id].data}, message="renamed")
    main = gitrepo.head_commit(hub)
    with pytest.raises(gitrepo.RepoError, match="folder is its name"):
        gitrepo.load_kit_at(hub, main, gitrepo.find_kits(hub, main.tree)[0])
