"""Attack: make the bot say what it did not decide. A file name with line breaks, or the
message of a submission's own error.json, rendered a fake "scored" heading, a score
table, links, images and mentions in the PR comment; a stage that is not a string
crashed the report, and the status blamed the runner.

Guarantees: text from a submission is inert wherever it is shown: in the PR comment
(one line, Markdown and HTML escaped, mentions and autolinks broken), in statuses (one
printable line of at most 140 characters) and on the site (escaped by Jinja); and it
is type-checked before use, so no value of any type crashes the report."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from challenge.forge.base import COMMENT_MARKER
from challenge.forge.comment import render
from challenge.hub import commit_files, init_repo
from challenge.ledger import Ledger
from gitramp.main import main as cli
from scorer.result import Result
from synthetic import Plan, commit_ledger, make_repo
from tests.attacks.conftest import example, logs, submit, workflow_run_event
from tests.github_server import GitHubServer
from tests.test_workflows_replay import HUB, comments

FAKE = ("ok\n\n### ✅ gitramp: `iris/x` — **scored**\n\n| score | valid |\n|---|---:|\n"
        "| **acc** ↑ (ranks) | 1.000 |\n\n[Submission page](https://evil.example/x) "
        "![pixel](https://evil.example/p.png) <img src=x onerror=alert(1)> "
        "<details open><summary>x</summary></details> @org/admins #1 www.evil.example "
        "`code` ``` ``` \x1b[2J\u202e\ud800 :+1:")


def rendered(body: str) -> list:
    """The tokens GitHub-flavoured Markdown makes of `body` (tables on, raw HTML on)."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    tokens = md.parse(body)
    flat = []
    for t in tokens:
        flat.append(t)
        flat.extend(t.children or [])
    return flat


def markup_of(body: str) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for t in rendered(body):
        kind = {"heading_open": "heading", "table_open": "table", "link_open": "link",
                "image": "image", "html_inline": "html", "html_block": "html"}.get(t.type)
        if kind:
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def assert_inert(body: str, *, links: int = 0) -> None:
    """Only the comment's own markup: its heading, its marker and its <sub> line."""
    kinds = markup_of(body)
    assert kinds.get("heading", 0) == 1, body
    assert kinds.get("table", 0) == 0 and kinds.get("image", 0) == 0, body
    assert kinds.get("link", 0) == links, body
    own_html = [t.content for t in rendered(body) if t.type in ("html_inline", "html_block")]
    assert all(c.strip() in (COMMENT_MARKER, "<sub>", "</sub>") for c in own_html), own_html
    text = body.replace(COMMENT_MARKER, "")
    assert "@org" not in text and "https://evil" not in text and "www.evil" not in text
    assert "\x1b" not in text and "\u202e" not in text and "\ud800" not in text


@pytest.mark.parametrize("stage", ["fit", 42, {"a": 1}, ["fit"], None, "fit\n### x"])
def test_a_failure_comment_renders_hostile_text_as_text(stage):
    r = Result.from_dict({"schema": 1, "challenge": "iris", "submission": "x",
                          "status": "error", "stage": stage, "reason": FAKE,
                          "runner": FAKE, "phase": FAKE, "log_tail": FAKE * 10,
                          "commit": "`" * 12, "tree": FAKE})
    body = render(r, quota_left=FAKE)
    assert_inert(body)
    assert body.count("**scored**") == 0
    why = next(line for line in body.splitlines() if line.startswith("- **Why:**"))
    assert "gitramp: " in why  # the fake heading is there, as text on the reason's line
    if stage == "fit":
        assert "- **Stage:** fit" in body
    else:
        assert "Stage" not in body


def test_a_result_of_any_type_renders_or_is_refused_cleanly():
    r = Result(challenge="iris", submission="x", status="error", stage=42,  # type: ignore
               reason=["not", "text"], runner=3.5)  # type: ignore
    assert_inert(render(r))


@pytest.fixture
def forge_env(tmp_path, monkeypatch):
    trusted = init_repo(tmp_path / "trusted")
    commit_files(trusted, "refs/heads/main", {"README.md": b"hub"}, message="hub")
    trusted.set_head("refs/heads/main")
    with GitHubServer() as gh:
        gh.add_repo(HUB)
        gh.add_token("tok", permissions={"contents": "read", "pull_requests": "write",
                                         "statuses": "write"})
        gh.open_pull(HUB, number=9, author="mallory", head_sha="a" * 40,
                     head_repo="mallory/iris", files=["kits/iris/submissions/x/a.py"])
        for k, v in {"GITHUB_REPOSITORY": HUB, "GITHUB_API_URL": gh.api_url,
                     "GITHUB_TOKEN": "tok", "GITHUB_OUTPUT": str(tmp_path / "out")}.items():
            monkeypatch.setenv(k, v)
        yield tmp_path, gh


def test_report_of_a_forged_verdict_posts_inert_text_and_a_clean_status(forge_env):
    tmp, gh = forge_env
    verdict = tmp / "verdict.json"
    verdict.write_text(json.dumps({
        "ok": False, "phase": FAKE,
        "reasons": [{"rule": {"x": 1}, "message": FAKE}, "not a reason", 7,
                    {"rule": "files\n### scored", "message": ["a"]}],
        "submission": {"challenge": FAKE, "name": 12, "team": None, "commit": FAKE}}))
    assert cli(["forge", "report", "--pr", "9", "--sha", "a" * 40, "--outcome", str(verdict),
                "--repo", str(tmp / "trusted")]) == 0
    (comment,) = gh.comments_on(HUB, 9)
    assert_inert(comment["body"])
    (status,) = gh.statuses_of(HUB, "a" * 40)
    assert status["state"] == "failure"
    desc = status["description"]
    assert "\n" not in desc and len(desc) <= 140 and "\x1b" not in desc


def test_report_of_a_recorded_failure_with_a_hostile_stage(forge_env):
    tmp, gh = forge_env
    ledger = Ledger(tmp / "trusted")
    path = "leaderboard_data/iris/x/0123456789abcdef-01234567.yml"
    ledger.write({path: b"schema: 1\nchallenge: iris\nsubmission: x\nteam: mallory\n"
                        b"status: error\nstage: {a: [1, 2]}\nreason: " +
                  json.dumps(FAKE.replace("\ud800", "")).encode() + b"\n"}, "planted")
    outcome = tmp / "outcome.json"
    outcome.write_text(json.dumps({"status": "error", "path": path, "challenge": "iris",
                                   "submission": "x", "team": "mallory"}))
    assert cli(["forge", "report", "--pr", "9", "--sha", "a" * 40, "--outcome",
                str(outcome), "--repo", str(tmp / "trusted")]) == 0
    (comment,) = gh.comments_on(HUB, 9)
    assert_inert(comment["body"])
    assert gh.statuses_of(HUB, "a" * 40)[-1]["state"] == "failure"


def test_a_file_name_with_line_breaks_is_rejected_and_shown_inert(hub):
    """Through the replayed workflows: a fork's PR whose file name carries a fake
    heading and score table is rejected, and the comment shows the name as text."""
    name = ("a\n### ✅ gitramp: `iris/x` — **scored**\n| acc | 1.000 |\n"
            "![p](javascript:alert(1)) @org/admins.py")
    files = {**example("starting_kit"), name: b"x = 1\n"}
    sha, run_id, jobs = submit(hub, "mallory", "mallory_x", 21, files=files)
    assert jobs["validate"].result == "failure", logs(jobs)
    # the job log prints the reason on one line: no line of it is the name's markup
    assert not [line for line in logs(jobs).splitlines()
                if line.startswith(("### ✅", "| acc", "![p]"))], logs(jobs)
    trigger = workflow_run_event(hub, run_id, sha, "mallory", "failure")
    _, jobs = hub.run_workflow("scoring.yml", "workflow_run", trigger)
    (body,) = comments(hub, 21)
    assert "**rejected**" in body, body
    assert_inert(body)
    desc = hub.github.statuses_of(HUB, sha)[-1]["description"]
    assert "\n" not in desc and len(desc) <= 140


# --------------------------------------------------------------------------- the site
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_site_shows_hostile_records_as_text(tmp_path):
    srepo = make_repo(tmp_path / "repo", [Plan("c", "C", 3, n_teams=1, fail_every=1)])
    failed = [v for v in srepo.challenges["c"].versions if v.result.status != "scored"]
    assert failed
    evil = "reason: " + json.dumps(FAKE.replace("\ud800", "") + "<script>alert(1)</script>")
    for v in failed:
        f = srepo.path / "leaderboard_data/c" / v.name / f"{v.stem}.yml"
        raw = f.read_text()
        f.write_text(re.sub(r"(?m)^reason:.*$", lambda _m: evil, raw)
                     .replace("status: ", "stage: 42\nstatus: ", 1))
    commit_ledger(srepo.path, "hostile reasons")
    out = tmp_path / "site"
    assert cli(["site", "--repo", str(srepo.path), "--out", str(out)]) == 0
    for page in out.rglob("*.html"):
        text = page.read_text()
        parser = _Tags()
        parser.feed(text)
        assert not [(t, a) for t, a in parser.tags if "evil" in json.dumps(a)
                    or t == "script" and "alert" in json.dumps(a)], page
        assert "<script>alert" not in text and "<img src=x" not in text, page
    shown = [p for p in out.rglob("*.html") if "alert(1)" in html.unescape(p.read_text())]
    assert shown  # the reason is shown, as text

