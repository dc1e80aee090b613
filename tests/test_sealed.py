"""Sealed submissions as participants and organizers meet them: `gitramp seal keygen`
puts the challenge's key in the kit, `gitramp submit` commits a folder sealed to it,
the runner (holding the private key) scores it exactly like its plain twin, nobody with
read access to the repository recovers the code before `gitramp phase open`, which
commits the plain files; plain code, a tampered envelope and a tampered manifest are
rejected, with reasons that say what to do."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pygit2
import pytest

from challenge import repo as gitrepo
from challenge import sealing
from challenge.hub import commit_files
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.scan import scan
from challenge.validate import validate_refs
from gitramp.main import main as cli
from scorer.backends import get_backend
from scorer.scoring import score_submission
from tests.gitramp_hubs import CLOSED_NOW, KITS, OPEN_NOW, example, make_hub, submit

MARK = b"# sealed-secret-7c1e9b: nobody reads this before the open phase\n"
FOLDER = "kits/iris/submissions"


def every_object(repo: pygit2.Repository) -> bytes:
    """What a reader of the repository holds: every object's content."""
    return b"\n".join(repo.odb.read(oid)[1] for oid in repo.odb)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sealed")
    repo = make_hub(tmp, min_interval=0)
    repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)
    # the organizer makes the keypair: the public key goes into the kit, committed
    assert cli(["seal", "keygen", "--kit", str(tmp / "hub" / "kits" / "iris"),
                "--out", str(tmp / "seal.key")]) == 0
    private = (tmp / "seal.key").read_text().strip()
    spec = (tmp / "hub" / "kits/iris/challenge.yml").read_bytes()
    assert b"seal_key: age1" in spec and private.encode() not in spec
    commit_files(repo, "refs/heads/main", {"kits/iris/challenge.yml": spec},
                 message="seal the closed phase", author="organizer")
    repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)

    # a participant writes, tests and submits with gitramp submit
    code = dict(example("iris", "random_forest"))
    code["classifier.py"] = MARK + code["classifier.py"]
    folder = tmp / "hub" / FOLDER / "secret"
    folder.mkdir()
    for name, data in code.items():
        (folder / name).write_bytes(data)
    assert cli(["test", "--kit", str(tmp / "hub/kits/iris"), "--submission", "secret",
                "--quick"]) == 0
    assert cli(["submit", "--submission", "secret", "--team", "alice",
                "--repo", str(tmp / "hub")]) == 0
    shutil.rmtree(folder)  # the participant's own copy: never in the repository

    # plain code, a tampered envelope, a tampered manifest
    submit(repo, "bob", "plain", example("iris", "random_forest"))
    sealed = sealing.seal(code, spec.decode().split("seal_key:")[1].split()[0])
    envelope = bytearray(sealed[sealing.ENVELOPE])
    envelope[-5] ^= 1
    submit(repo, "carol", "flipped", {**sealed, sealing.ENVELOPE: bytes(envelope)})
    manifest = sealed[sealing.MANIFEST].replace(
        sealing.sha256(code["classifier.py"]).encode(), b"ab" * 32)
    submit(repo, "dave", "relabelled", {**sealed, sealing.MANIFEST: manifest})
    return tmp, repo, code, private


def test_a_reader_recovers_nothing_before_the_open_phase(hub):
    tmp, repo, code, _ = hub
    branch = repo.references["refs/heads/submit/alice/secret"].peel(pygit2.Commit)
    folder = gitrepo.subtree(repo, branch.tree, f"{FOLDER}/secret")
    assert {e.name for e in folder} == {sealing.ENVELOPE, sealing.MANIFEST}
    assert MARK.strip() not in every_object(repo)
    assert b"RandomForest" not in repo[folder[sealing.ENVELOPE].id].data


def test_without_the_key_validation_checks_envelope_and_manifest(hub, monkeypatch):
    _, repo, _, _ = hub
    monkeypatch.delenv(sealing.KEY_ENV, raising=False)

    def verdict(ref: str):
        team, name = ref.split("/")[-2:]
        return validate_refs(repo, base=None, head=ref, team=team, records=[],
                             now=CLOSED_NOW, name=name)

    assert verdict("refs/heads/submit/alice/secret").ok
    # the manifest's hashes of the files are checked only where the key opens it
    assert verdict("refs/heads/submit/dave/relabelled").ok
    flipped = verdict("refs/heads/submit/carol/flipped")
    assert flipped.rule == "sealed" and "does not have the hash" in flipped.message()
    plain = verdict("refs/heads/submit/bob/plain")
    assert plain.rule == "sealed" and "gitramp submit" in plain.message()


def test_the_runner_scores_it_like_its_plain_twin_and_rejects_tampering(hub, tmp_path,
                                                                          monkeypatch):
    tmp, repo, code, private = hub
    monkeypatch.setenv(sealing.KEY_ENV, private)
    hub_copy = tmp_path / "hub"
    shutil.copytree(tmp / "hub", hub_copy, symlinks=True)
    options = Options(private_ledger=tmp_path / "private", now=CLOSED_NOW, quick=True,
                      data_dir=str(KITS / "{challenge}" / "hidden"), runner="test-runner")
    outcomes = {o.submission.name: o for o in scan(hub_copy, options)}
    assert outcomes["secret"].status == "scored"
    assert outcomes["plain"].status == "rejected"
    assert "gitramp submit" in outcomes["plain"].message
    assert outcomes["flipped"].status == "rejected"
    assert outcomes["relabelled"].status == "rejected"
    assert "differ from manifest.yml" in outcomes["relabelled"].message

    twin = tmp_path / "twin"
    twin.mkdir()
    for name, data in code.items():
        (twin / name).write_bytes(data)
    copy = pygit2.Repository(str(hub_copy))
    kit = gitrepo.load_kit_at(copy, copy.head.peel(pygit2.Commit),
                              gitrepo.find_kits(copy, copy.head.peel().tree)[0])
    plain = score_submission(kit, twin, backend=get_backend("local"), quick=True,
                             data_dir=KITS / "iris" / "hidden").result
    record = outcomes["secret"].result
    assert record.bagged["valid"] == pytest.approx(plain.bagged["valid"])
    for mine, twin_fold in zip(record.folds, plain.folds, strict=True):
        assert mine.scores["valid"] == pytest.approx(twin_fold.scores["valid"])
    # nothing decrypted stays in the repository or its ledger
    assert MARK.strip() not in every_object(copy)

    # the open phase commits the plain files, checked against the manifest
    assert cli(["phase", "open", "--repo", str(hub_copy), "--now", OPEN_NOW.isoformat()]) == 0
    head = Ledger(hub_copy).head()
    opened = gitrepo.subtree(copy, head.tree, f"{FOLDER}/secret")
    assert {e.name: copy[e.id].data for e in opened} == code
    assert MARK.strip() in every_object(copy)


def test_phase_open_needs_the_key(hub, tmp_path, monkeypatch, capsys):
    tmp, _, _, private = hub
    monkeypatch.setenv(sealing.KEY_ENV, private)
    shutil.copytree(tmp / "hub", tmp_path / "hub", symlinks=True)
    options = Options(now=CLOSED_NOW, quick=True, runner="test-runner",
                      data_dir=str(KITS / "{challenge}" / "hidden"))
    scan(tmp_path / "hub", options)
    monkeypatch.delenv(sealing.KEY_ENV)
    assert cli(["phase", "open", "--repo", str(tmp_path / "hub"),
                "--now", OPEN_NOW.isoformat()]) == 2
    assert sealing.KEY_ENV in capsys.readouterr().err


def test_sealing_refuses_a_wrong_key_and_odd_names():
    public, private = sealing.keygen()
    _, other = sealing.keygen()
    sealed = sealing.seal({"classifier.py": b"x = 1\n"}, public)
    assert sealing.open_envelope(sealed[sealing.ENVELOPE], sealed[sealing.MANIFEST],
                                 private) == {"classifier.py": b"x = 1\n"}
    with pytest.raises(sealing.SealError, match="does not open"):
        sealing.open_envelope(sealed[sealing.ENVELOPE], sealed[sealing.MANIFEST], other)
    bad = sealing.seal({"../escape.py": b"x"}, public)
    with pytest.raises(sealing.SealError, match="names a submission may not use"):
        sealing.open_envelope(bad[sealing.ENVELOPE], bad[sealing.MANIFEST], private)
    assert datetime.now(UTC)  # keygen needs no clock


def test_the_public_run_of_a_sealed_submission_says_it_runs_on_the_runner_only(
        hub, tmp_path, capsys):
    """The pull request's public-run job calls `gitramp test` on its checkout: a sealed
    folder has no code to run there, which it says instead of a missing-file failure."""
    tmp, repo, code, _ = hub
    folder = tmp_path / "kit"
    shutil.copytree(tmp / "hub" / "kits" / "iris", folder,
                    ignore=shutil.ignore_patterns("submissions"))
    sealed = sealing.seal(code, (folder / "challenge.yml").read_text()
                          .split("seal_key:")[1].split()[0])
    (folder / "submissions" / "secret").mkdir(parents=True)
    for name, data in sealed.items():
        (folder / "submissions" / "secret" / name).write_bytes(data)
    capsys.readouterr()
    assert cli(["test", "--kit", str(folder), "--submission", "secret"]) == 0
    out = capsys.readouterr().out
    assert "secret: sealed" in out and "gitramp submit" in out and "score" not in out.lower()
