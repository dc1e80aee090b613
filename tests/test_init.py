"""`gitramp init`: a kit exported as a standalone repository, usable by every verb."""

from __future__ import annotations

import pygit2
import pytest

from challenge.errors import GitrampError
from challenge.hub import commit_files
from challenge.validate import validate_refs
from gitramp.main import main as cli
from tests.gitramp_hubs import CLOSED_NOW, KITS, example


def test_init_exports_a_kit_repository_without_hidden_data(tmp_path, capsys):
    out = tmp_path / "iris"
    assert cli(["init", str(KITS / "iris"), str(out)]) == 0
    repo = pygit2.Repository(str(out))
    files = {e.name for e in repo.head.peel(pygit2.Commit).tree}
    assert {"challenge.yml", "submissions", "data", ".gitignore"} <= files
    assert "hidden" not in files
    subs = repo.head.peel(pygit2.Commit).tree["submissions"]
    assert [e.name for e in repo[subs.id]] == ["starting_kit"]
    assert (out / "challenge.yml").is_file()  # checked out for the organizer
    assert "standalone kit repository" in capsys.readouterr().out
    with pytest.raises(GitrampError, match="not empty"):
        from gitramp.commands.init import export_kit

        export_kit(KITS / "iris", out)


def test_a_standalone_kit_repository_validates_submissions(tmp_path):
    out = tmp_path / "iris"
    cli(["init", str(KITS / "iris"), str(out)])
    repo = pygit2.Repository(str(out))
    # move the phases so the closed phase is current, as an organizer would
    spec = (out / "challenge.yml").read_bytes()
    from challenge.hub import demo_phases, with_phases
    from tests.gitramp_hubs import START

    commit_files(repo, "refs/heads/main", {"challenge.yml": with_phases(
        spec, demo_phases(START))}, message="dates")
    commit_files(repo, "refs/heads/submit/red/rf",
                 {f"submissions/rf/{k}": v for k, v in example("iris", "random_forest").items()},
                 parent=repo.references["refs/heads/main"].target, message="rf")
    v = validate_refs(repo, base=None, head="refs/heads/submit/red/rf", team="red", records=[],
                      now=CLOSED_NOW)
    assert v.ok, v.message()
    assert (v.submission.challenge, v.submission.folder) == ("iris", "submissions/rf")
