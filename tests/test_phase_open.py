"""`gitramp phase open` before the open phase's start date: refused, naming the date,
unless --force, which opens it and says it was early."""

from __future__ import annotations

from datetime import timedelta

from gitramp.main import main


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_phase_open_before_its_start_date_refuses_without_force(tmp_path, capsys):
    from challenge.ledger import Ledger
    from challenge.phases import iso
    from tests.gitramp_hubs import CLOSED_NOW, OPEN_NOW, make_hub

    repo = make_hub(tmp_path)
    hub = repo.workdir or repo.path
    head = repo.references["refs/heads/main"].target
    code = main(["phase", "open", "--repo", hub, "--now", iso(CLOSED_NOW)])
    err = _flat(capsys.readouterr().err)
    open_start = iso(OPEN_NOW - timedelta(hours=1))
    assert code == 2
    assert f"iris: the open phase starts {open_start}" in err and "--force" in err
    assert repo.references["refs/heads/main"].target == head  # nothing written
    assert not Ledger(hub).state("iris").code_visible

    assert main(["phase", "open", "--repo", hub, "--now", iso(CLOSED_NOW), "--force"]) == 0
    out = _flat(capsys.readouterr().out)
    assert f"iris: opened early (--force); the open phase starts {open_start}" in out
    assert Ledger(hub).state("iris").code_visible


def test_phase_open_after_its_start_date_needs_no_force(tmp_path, capsys):
    from challenge.ledger import Ledger
    from challenge.phases import iso
    from tests.gitramp_hubs import OPEN_NOW, make_hub

    repo = make_hub(tmp_path)
    hub = repo.workdir or repo.path
    assert main(["phase", "open", "--repo", hub, "--now", iso(OPEN_NOW)]) == 0
    assert "early" not in capsys.readouterr().out
    assert Ledger(hub).state("iris").code_visible
