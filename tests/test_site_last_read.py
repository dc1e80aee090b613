"""A rebuild reads only the records added since the last build (site_generator.last_read),
and the whole ledger whenever anything else of the challenge's folder changed. Either
way it reads what a first read with nothing kept reads."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from challenge.ledger import LEDGER_ROOT
from site_generator import build, model
from site_generator.build import CACHE_DIR
from site_generator.last_read import HEAD, NOTE_DIR, LastRead
from synthetic import Plan, add_submission, commit_ledger, make_repo

NOW = datetime(2026, 12, 20, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path):
    """A challenge (private scores revealed, code visible) built once: its repo."""
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 24, n_teams=4, code_visible=True,
                                               revealed=True, seed=11)])
    build(srepo.path, tmp_path / "site", now=NOW)
    return srepo


def read(path, kept=None):
    """Each entry as plain data, read as a build reads them: with the build cache and
    the last build's note in `kept` (the repository's), or nothing kept."""
    repo = model.read_repository(path)
    model.read_records(repo, model.RecordCache(kept),
                       last=LastRead(kept, model.RecordCache.VERSION) if kept else None)
    return repo.skipped, {c.name: [_plain(e) for e in c.entries] for c in repo.challenges}


def _plain(e: model.Entry) -> tuple:
    summary = e.summary if isinstance(e.summary, dict) else vars(e.summary)
    e.page, e.result  # noqa: B018 (made when first read)
    # the same attributes however it was made (Entry.restore for a noted one)
    return (sorted(vars(e)), e.name, e.stem, e.digest, e.kept_ident, e.team, e.label,
            e.parent_label, e.submitted_at, e.page, e.status, e.stage, e.reason,
            e.parent_team, e.inherited_share,
            repr(summary), repr(e.verifications),
            e.chosen, repr(e.result.to_dict()))


@pytest.fixture
def whole_reads(monkeypatch):
    """The challenges read whole (read_ledger) by the reads with a build cache that
    follow (a read with nothing kept always reads whole)."""
    calls: list[str] = []
    real = model.read_ledger

    def spy(source, challenge, state, cache, *a, **k):
        if cache.folder is not None:
            calls.append(challenge)
        return real(source, challenge, state, cache, *a, **k)
    monkeypatch.setattr(model, "read_ledger", spy)
    return calls


def test_new_records_are_read_alone_and_the_rest_comes_from_the_note(ledger, whole_reads):
    kept = ledger.path / ".git" / CACHE_DIR
    assert (kept / NOTE_DIR / HEAD).is_file()
    first = ledger.challenges["c"].versions[3]
    add_submission(ledger, "c", seed=1)
    add_submission(ledger, "c", seed=2, parent=first)  # a child of an older version
    # a rejection (its stem names its team) and a record whose private part came first
    rejected = ledger.path / LEDGER_ROOT / "c" / "_rejected" / first.team / first.name
    rejected.mkdir(parents=True)
    source = ledger.path / LEDGER_ROOT / "c" / first.name / f"{first.stem}.yml"
    shutil.copyfile(source, rejected / "0000000000000000-00000000.yml")
    commit_ledger(ledger.path, "a rejection")

    skipped, noted = read(ledger.path, kept)
    assert whole_reads == []
    _, fresh = read(ledger.path)
    assert noted == fresh
    assert len(noted["c"]) == 24 + 3 and not skipped
    assert any(".rejected." in row[2] for row in noted["c"])
    # and the note now holds them: the next read of the same ledger reads none
    assert read(ledger.path, kept)[1] == fresh and whole_reads == []



def test_a_read_from_the_note_loads_only_the_summary_parts_it_looks_up(ledger, monkeypatch):
    kept = ledger.path / ".git" / CACHE_DIR
    add_submission(ledger, "c", seed=7)
    loaded: list[int] = []
    real = model._Parts.part

    def spy(self, p):
        if self._parts[p] is None:
            loaded.append(p)
        return real(self, p)
    monkeypatch.setattr(model._Parts, "part", spy)
    parts = kept / model.RecordCache.SUMMARIES
    before = {f.name: f.read_bytes() for f in parts.iterdir()}
    repo = model.read_repository(ledger.path)
    model.read_records(repo, model.RecordCache(kept),
                       last=LastRead(kept, model.RecordCache.VERSION))
    # one part of 32: the new record's summary was looked up there, then added to it
    # (the 24 noted entries' summaries are read when first asked for, which was never)
    assert len(loaded) == 1
    after = {f.name: f.read_bytes() for f in parts.iterdir()}
    assert {n for n in after if after[n] != before.get(n)} == {f"{loaded[0]:02d}.marshal"}
    assert len(model._Parts(parts, model.RecordCache.VERSION, ("summaries",))
               .whole("summaries")) == 24 + 1
    monkeypatch.undo()
    skipped, noted = read(ledger.path, kept)
    assert noted == read(ledger.path)[1] and not skipped


def test_a_summary_lost_from_its_part_is_made_again_from_its_record(ledger, whole_reads):
    kept = ledger.path / ".git" / CACHE_DIR
    add_submission(ledger, "c", seed=8)
    for f in (kept / model.RecordCache.SUMMARIES).iterdir():
        f.write_bytes(b"\x00damaged")
    skipped, noted = read(ledger.path, kept)
    assert whole_reads == []  # the note still holds: only the summaries are made again
    assert noted == read(ledger.path)[1] and not skipped
    # a build keeps those it made again: the parts hold every summary once more
    _rebuild(ledger)
    parts = model._Parts(kept / model.RecordCache.SUMMARIES, model.RecordCache.VERSION,
                         ("summaries",))
    assert len(parts.whole("summaries")) == 24 + 1

def _edit(srepo, relative: str, text: str) -> None:
    path = srepo.path / LEDGER_ROOT / "c" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    commit_ledger(srepo.path, f"edit {relative}")


CHANGES = {
    # an old record's content changed: its entry must be read again
    "a record changed": lambda s, v: _edit(s, f"{v.name}/{v.stem}.yml", (
        s.path / LEDGER_ROOT / "c" / v.name / f"{v.stem}.yml").read_text().replace(
            "submitted_at:", "submitted_at: 2026-11-30T00:00:00Z\nx_old_submitted_at:", 1)),
    # an older record's private part came (it now reads with its private scores)
    "an old record's private part": lambda s, v: (
        (s.path / LEDGER_ROOT / "c" / "private" / v.name / f"{v.stem}.yml").unlink(),
        commit_ledger(s.path, "private part gone"), _rebuild(s),
        shutil.copyfile(s.private_ledger / LEDGER_ROOT / "c" / v.name / f"{v.stem}.yml",
                        s.path / LEDGER_ROOT / "c" / "private" / v.name / f"{v.stem}.yml"),
        add_submission(s, "c", seed=5), commit_ledger(s.path, "private part back")),
    # a file of the challenge's folder that is no record (a verification, an act, the
    # blend, the state...)
    "a verification": lambda s, v: _edit(
        s, f"_verifications/{v.name}/{v.stem}/2026-12-01T00-00-00Z-r1.yml",
        "verdict: agrees\nrunner: r1\n"),
    "the blend": lambda s, v: _edit(s, "blend.yml", "blended_valid: 0.5\n"),
    "a record gone": lambda s, v: (
        (s.path / LEDGER_ROOT / "c" / v.name / f"{v.stem}.yml").unlink(),
        commit_ledger(s.path, "gone")),
}


def _rebuild(srepo) -> None:
    build(srepo.path, srepo.path.parent / "site", now=NOW)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_anything_but_new_records_reads_the_ledger_whole(ledger, whole_reads, change):
    version = ledger.challenges["c"].versions[5]
    add_submission(ledger, "c", seed=3)
    CHANGES[change](ledger, version)
    whole_reads.clear()
    kept = ledger.path / ".git" / CACHE_DIR
    skipped, noted = read(ledger.path, kept)
    assert whole_reads == ["c"]
    assert (skipped, noted) == read(ledger.path)


def test_a_lost_cache_or_a_damaged_note_costs_only_a_whole_read(ledger, whole_reads):
    kept = ledger.path / ".git" / CACHE_DIR
    add_submission(ledger, "c", seed=4)
    _, fresh = read(ledger.path)
    (kept / NOTE_DIR / HEAD).write_bytes(b"\x00not a note")
    assert read(ledger.path, kept)[1] == fresh and whole_reads == ["c"]
    # the note is right again, but the summaries it names are gone
    shutil.rmtree(kept / model.RecordCache.SUMMARIES)
    whole_reads.clear()
    assert read(ledger.path, kept)[1] == fresh and whole_reads == ["c"]
    whole_reads.clear()
    assert read(ledger.path, kept)[1] == fresh and whole_reads == []


def test_a_state_change_reads_the_ledger_whole(ledger, whole_reads):
    kept = ledger.path / ".git" / CACHE_DIR
    state = ledger.path / LEDGER_ROOT / "c" / "state.yml"
    state.write_text(state.read_text().replace("revealed: true", "revealed: false"))
    commit_ledger(ledger.path, "hide the private board")
    _, noted = read(ledger.path, kept)
    assert whole_reads == ["c"] and noted == read(ledger.path)[1]


def test_a_new_result_rewrites_the_note_s_last_part_only(ledger, monkeypatch):
    from site_generator import last_read

    monkeypatch.setattr(last_read, "PART_ROWS", 5)
    kept = ledger.path / ".git" / CACHE_DIR
    read(ledger.path, kept)  # the note in parts of 5 rows
    folder = kept / NOTE_DIR
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != HEAD}
    assert len(before) == 5  # 24 rows
    add_submission(ledger, "c", seed=6)  # the newest: the last row
    read(ledger.path, kept)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != HEAD}
    assert len(after) == 5 and len(set(after) - set(before)) == 1
    assert {n: b for n, b in after.items() if n in before} == \
        {n: b for n, b in before.items() if n in after}
    # the parts read back are the new ledger's entries
    assert read(ledger.path, kept)[1] == read(ledger.path)[1]


def test_a_note_naming_a_page_outside_the_site_is_not_used(ledger, whole_reads):
    """A damaged or altered note never makes a build write outside the s/ folder."""
    from site_generator import kept as kept_files
    from site_generator import last_read

    kept = ledger.path / ".git" / CACHE_DIR
    head = kept_files.read(kept / NOTE_DIR / HEAD, [last_read.VERSION, model.RecordCache.VERSION])
    part = kept / NOTE_DIR / head["challenges"]["c"]["parts"][0]
    data = kept_files.read(part, head["version"])
    data["rows"][0][last_read.DERIVED][model.Entry.DERIVED.index("page")] = \
        "s/../../../outside.html"
    kept_files.write(part, data)
    _, noted = read(ledger.path, kept)
    assert whole_reads == ["c"] and noted == read(ledger.path)[1]
    assert all(row[9].startswith("s/") and "/" not in row[9][2:] for row in noted["c"])


@pytest.mark.parametrize("field, value", [("credit", "lots"), ("credit", [1.0]),
                                          ("ranked_as", 5), ("ranked_as", ["a", 2]),
                                          ("ranked_as", ["a"]), ("stage", 3),
                                          ("reason", ["<b>not text</b>"]),
                                          ("parent_team", 7), ("inherited_share", "all")])
def test_a_note_whose_credit_ranking_name_or_failure_does_not_read_is_not_used(
        ledger, whole_reads, field, value):
    """A damaged note's credit (lineage sums them), ranking name (the ranking compares
    them), failure's stage or reason or parent's team (shown as text) or inherited
    share (a number) of the wrong kind costs a whole read, never a failed or wrong
    build."""
    from site_generator import kept as kept_files
    from site_generator import last_read

    kept = ledger.path / ".git" / CACHE_DIR
    head = kept_files.read(kept / NOTE_DIR / HEAD, [last_read.VERSION, model.RecordCache.VERSION])
    part = kept / NOTE_DIR / head["challenges"]["c"]["parts"][0]
    data = kept_files.read(part, head["version"])
    derived = data["rows"][3][last_read.DERIVED]
    derived[model.Entry.DERIVED.index(field)] = value
    kept_files.write(part, data)
    _, noted = read(ledger.path, kept)
    assert whole_reads == ["c"] and noted == read(ledger.path)[1]
