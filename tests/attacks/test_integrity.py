"""Attack: break the public ledger for everyone with one submission. Its own error.json
(written in its output folder, then exit) carries a lone surrogate, terminal escapes,
a stage that is not a string; the record made of it was YAML the C loader refuses, so
from then on every reader of the ledger (validation of every other pull request,
planning, the site) raised, and the attacker's quota was never charged.

Guarantees: every text from a submission is cleaned and bounded before it is recorded
(scorer.untrusted.clean_text); a stage comes from the scorer's vocabulary only; a record
is committed only once it reloads with the ledger's own loader to the same data; and a
bad record already in a ledger is reported (file and reason) and skipped, while every
other record still reads, validates, scores and renders."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pygit2
import pytest

from challenge.hub import commit_files
from challenge.ledger import Ledger, LedgerError, load_yaml
from challenge.pipeline import Options, Pipeline
from challenge.quota import attempt_times
from gitramp.main import main as cli
from scorer.outputs import parse_error
from scorer.result import STATUSES, Result
from tests.gitramp_hubs import CLOSED_NOW, example, make_hub

# The bounds this suite holds the code to (scorer.untrusted names them).
MESSAGE_CHARS, REASON_CHARS = 240, 1000
INGEST_STAGES = ("load", "fit", "predict")

# Every kind of character a YAML loader, a terminal or a renderer may choke on.
NASTY = ("x\ud800 \udfff \x00\x07\x1b[31mred\x1b[0m \x85\u2028\u2029 \u202eevil\u202c "
         "\u200b\ufeff\ufffe\uffff \r\n### ✅ scored\n| acc | 1.000 |\n"
         "![x](http://example.org/x.png) <script>alert(1)</script> @org/admins")

FORGE_ERROR = b'''import json
import os
import sys

OUT = sys.argv[sys.argv.index("--out") + 1]
NASTY = %s


class Classifier:
    def fit(self, X, y):
        with open(os.path.join(OUT, "error.json"), "w") as f:
            json.dump({"stage": {"not": ["a", "stage"]}, "file": NASTY * 40, "line": "12",
                       "message": NASTY * 200, "traceback": NASTY * 50}, f)
        sys.stdout.write(NASTY * 20)
        sys.stdout.flush()
        os._exit(1)

    def predict_proba(self, X):
        raise RuntimeError("never reached")
''' % repr(NASTY).encode()


def printable(text: str) -> bool:
    return all(ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Cf")
               for ch in text) and "\ufffe" not in text and "\uffff" not in text


def branch(hub, team: str, name: str, files: dict[str, bytes]) -> str:
    ref = f"refs/heads/submit/{team}/{name}"
    commit_files(hub, ref, {f"kits/iris/submissions/{name}/{f}": d for f, d in files.items()},
                 parent=hub.references["refs/heads/main"].target, message=name, author=team)
    return ref


def site(hub, out: Path) -> int:
    """`gitramp site` on the hub, whose kits are read from a checkout of main."""
    hub.checkout("refs/heads/main", strategy=pygit2.enums.CheckoutStrategy.FORCE)
    return cli(["site", "--repo", str(Path(hub.path).parent), "--out", str(out)])


def plant(ledger_path: Path, path: str, data: bytes) -> None:
    """A record written by something else than a runner of this gitramp (an older one)."""
    Ledger(ledger_path).write({path: data}, "planted")


@pytest.fixture
def hub(tmp_path):
    return make_hub(tmp_path)


# ---------------------------------------------------------------------- in Docker
@pytest.mark.docker
@pytest.mark.slow
def test_a_forged_error_record_is_recorded_clean_and_everyone_else_goes_on(
        hub, tmp_path, docker_engine, capsys):
    root = Path(hub.path).parent
    ref = branch(hub, "mallory", "forger", {**example("iris", "starting_kit"),
                                            "classifier.py": FORGE_ERROR})
    pipe = Pipeline(root, Options(backend="docker", private_ledger=tmp_path / "private",
                                  now=CLOSED_NOW, quick=True))
    v = pipe.validate(ref=ref, team="mallory", name="forger")
    assert v.ok, v.message()
    out = pipe.score(v)
    pipe.close()
    r = out.result
    assert r.status == "error" and r.stage in (None, *INGEST_STAGES)

    # the record reads back with the ledger's own (C) loader, as the data written
    ledger = Ledger(root)
    (record,) = ledger.records("iris")
    assert ledger.skipped == {}
    assert record.reason and printable(record.reason) and "\n" not in record.reason
    assert len(record.reason) <= REASON_CHARS
    assert record.stage in (None, *INGEST_STAGES)
    assert load_yaml(hub[hub.revparse_single(f"main:{out.path}").id].data)["status"] == \
        "error"
    # the quota counts the attempt: the attacker pays for it like anyone else
    assert len(attempt_times(ledger.records(), "iris", "mallory")) == 1

    # another team validates, scores and is recorded; the site builds
    other = branch(hub, "alice", "honest", example("iris", "starting_kit"))
    assert cli(["validate", "--repo", str(root), "--head", other,
                "--now", "2026-12-01T01:00Z"]) == 0
    pipe = Pipeline(root, Options(backend="docker", private_ledger=tmp_path / "private",
                                  now=CLOSED_NOW, quick=True))
    v = pipe.validate(ref=other, team="alice", name="honest")
    assert v.ok and pipe.score(v).status == "scored"
    pipe.close()
    assert sorted(x.submission for x in Ledger(root).records("iris")) == ["forger", "honest"]
    capsys.readouterr()
    assert site(hub, tmp_path / "site") == 0
    page = next((tmp_path / "site/iris/s").glob("forger~*.html")).read_text()
    assert "<script>alert" not in page and "\ud800" not in page


# ---------------------------------------------------------------------- records
def test_a_bad_record_in_the_ledger_is_skipped_and_reported_never_fatal(hub, tmp_path,
                                                                        capsys):
    root = Path(hub.path).parent
    # the record today's attack left behind: a lone surrogate the C loader refuses
    bad = "leaderboard_data/iris/forger/0123456789abcdef-01234567.yml"
    plant(root, bad, b'schema: 1\nchallenge: iris\nsubmission: forger\nteam: mallory\n'
                     b'status: error\nreason: "x\\uD800"\nstage: 42\n')
    stage = "leaderboard_data/iris/stager/0123456789abcdef-01234567.yml"
    plant(root, stage, b"schema: 1\nchallenge: iris\nsubmission: stager\nteam: mallory\n"
                       b"status: error\nstage: {a: 1}\nreason: [1, 2]\n")
    odd = "leaderboard_data/iris/odd/0123456789abcdef-01234567.yml"
    plant(root, odd, b"schema: 1\nchallenge: iris\nsubmission: odd\nstatus: scored\n"
                     b"folds: [1, 2]\n")
    ledger = Ledger(root)
    records = ledger.records("iris")
    assert bad in ledger.skipped and odd in ledger.skipped
    assert "not valid YAML" in ledger.skipped[bad]
    (stager,) = records  # read, its stage dropped (not an identifier), its reason text
    assert stager.stage is None and isinstance(stager.reason, str)

    ref = branch(hub, "alice", "honest", example("iris", "starting_kit"))
    capsys.readouterr()
    assert cli(["validate", "--repo", str(root), "--head", ref,
                "--now", "2026-12-01T01:00Z"]) == 0
    err = capsys.readouterr().err
    assert bad in err and odd in err
    pipe = Pipeline(root, Options(now=CLOSED_NOW, quick=True))
    v = pipe.validate(ref=ref, team="alice", name="honest")
    assert v.ok and pipe.score(v).status == "scored"
    assert site(hub, tmp_path / "site") == 0
    err = capsys.readouterr().err
    assert bad in err and odd in err
    assert list((tmp_path / "site/iris/s").glob("honest~*.html"))
    assert cli(["leaderboard", "--repo", str(root)]) == 0


def test_a_record_is_committed_only_if_it_reloads_to_the_same_data(hub):
    from challenge.ledger import dump_record

    root = Path(hub.path).parent
    with pytest.raises(LedgerError, match="does not read back"):
        dump_record({"reason": "x\ud800"}, "here.yml")
    ledger = Ledger(root)
    before = ledger.head().id
    # whatever the texts hold, a result is recorded and reads back as written
    r = Result(challenge="iris", submission="s", status="error", team="t\x1b\u202e",
               reason=NASTY * 30, stage="fit\n### x", log_tail=NASTY * 300, runner=NASTY,
               tree="a" * 40, commit="b" * 40, scoring_hash="c" * 40)
    path = ledger.record(r)
    assert ledger.head().id != before
    (back,) = ledger.records("iris")
    assert back.to_dict() == Result.from_dict(r.public_dict()).to_dict()
    assert printable(back.reason) and printable(back.team) and back.stage is None
    assert load_yaml(hub.revparse_single(f"main:{path}").data)["reason"] == back.reason


# ---------------------------------------------------------------------- the scorer's side
@pytest.mark.parametrize("stage", [{"a": 1}, 42, None, "scored", "fit\n### x", "load"])
def test_error_json_is_the_submissions_word_and_is_checked_as_such(stage):
    raw = json.dumps({"stage": stage, "file": NASTY * 10, "line": "12; rm",
                      "message": NASTY * 40, "traceback": NASTY * 100}).encode()
    assert len(raw) < 64_000
    error = parse_error({"error.json": raw})
    assert error["stage"] == (stage if stage in INGEST_STAGES else None)
    assert error["line"] is None
    assert len(error["message"]) <= MESSAGE_CHARS and printable(error["message"])
    assert "\n" not in error["message"] and "\n" not in error["file"]
    assert printable(error["traceback"])
    from scorer.backends.base import IngestOutcome
    from scorer.reasons import explain
    from scorer.task import Limits

    reason = explain(IngestOutcome(status="error", outputs={}, log="", image=None),
                     error, Limits())
    assert printable(reason) and "\n" not in reason and len(reason) <= REASON_CHARS


def test_clean_text_is_printable_bounded_and_idempotent():
    from challenge.ledger import dump_record
    from scorer.untrusted import clean_text

    every = "".join(chr(i) for i in range(0, 0x110000, 7)) + NASTY
    for lines in (False, True):
        for limit in (0, 1, 50, 5000, 10**6):
            out = clean_text(every, limit, lines=lines)
            assert len(out) <= limit and printable(out)
            assert lines or "\n" not in out
            assert clean_text(out, limit, lines=lines) == out
            load_yaml(dump_record({"t": out}, "x"))  # the C loader takes it
    assert clean_text(b"\xff\xfe ok", 10) == "\ufffd\ufffd ok"
    assert clean_text(None, 10) == "" and clean_text(12, 10) == "12"


def test_statuses_and_stages_come_from_the_vocabulary():
    with pytest.raises(Exception, match="status"):
        Result.from_dict({"schema": 1, "challenge": "c", "submission": "s",
                          "status": "scored\n### x"})
    r = Result.from_dict({"schema": 1, "challenge": "c", "submission": "s",
                          "status": "error", "stage": ["fit"]})
    assert r.stage is None and r.status in STATUSES

