"""A local forge for the tests: pull requests, comments, statuses and labels on a
plain git repository, with the operations of challenge.forge.github.GitHubForge.
Pull-request heads are `refs/pull/<n>/head` refs (what a runner fetches from GitHub);
everything else a forge remembers sits in one JSON file in the git directory, never in
the work tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pygit2

from challenge.forge.base import (
    STATUS_CONTEXT,
    Comment,
    ForgeError,
    PullRequest,
    check_state,
    is_gitramp_comment,
    with_marker,
)

STATE_FILE = "gitramp-forge.json"
BOT = "gitramp[bot]"


class LocalForge:
    def __init__(self, repo: pygit2.Repository | str | Path, name: str = "local/hub") -> None:
        self.repo = repo if isinstance(repo, pygit2.Repository) else pygit2.Repository(str(repo))
        self.name = name
        self._path = Path(self.repo.path) / STATE_FILE

    # ---------------------------------------------------------------- state
    def _load(self) -> dict:
        if self._path.is_file():
            return json.loads(self._path.read_text())
        return {"pulls": {}, "comments": [], "statuses": [], "next_comment": 1}

    def _save(self, state: dict) -> None:
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        tmp.replace(self._path)

    def _raw(self, state: dict, number: int) -> dict:
        try:
            return state["pulls"][str(number)]
        except KeyError:
            raise ForgeError(f"no pull request #{number} in {self.name}") from None

    # ---------------------------------------------------------------- pulls
    def open_pull(self, *, author: str, head: str, base_ref: str = "main",
                  head_repo: str | None = None, title: str = "") -> PullRequest:
        """Record a pull request from commit-ish `head`; its head becomes refs/pull/<n>/head."""
        commit = self.repo.revparse_single(head).peel(pygit2.Commit)
        state = self._load()
        number = 1 + max((int(n) for n in state["pulls"]), default=0)
        self.repo.references.create(f"refs/pull/{number}/head", commit.id, force=True)
        state["pulls"][str(number)] = {"author": author, "base_ref": base_ref,
                                       "head_repo": head_repo or f"{author}/fork",
                                       "head_ref": head, "state": "open", "title": title,
                                       "labels": []}
        self._save(state)
        return self.pull(number)

    def _to_pull(self, number: int, raw: dict) -> PullRequest:
        ref = self.repo.references.get(f"refs/pull/{number}/head")
        if ref is None:
            raise ForgeError(f"refs/pull/{number}/head is missing in {self.repo.path}")
        return PullRequest(number, raw["author"], str(ref.target), raw["head_repo"],
                           raw["head_ref"], raw["base_ref"], self.name, raw["state"],
                           raw["title"], tuple(raw["labels"]))

    def open_pulls(self) -> list[PullRequest]:
        state = self._load()
        return [self._to_pull(int(n), raw) for n, raw in sorted(state["pulls"].items(),
                                                                 key=lambda kv: int(kv[0]))
                if raw["state"] == "open"]

    def pull(self, number: int) -> PullRequest:
        return self._to_pull(number, self._raw(self._load(), number))

    def pull_files(self, number: int) -> list[str]:
        pr = self.pull(number)
        head = self.repo[pr.head_sha].peel(pygit2.Commit)
        base = self.repo.references.get(f"refs/heads/{pr.base_ref}")
        if base is None:
            return []
        base_id = self.repo.merge_base(base.target, head.id)
        diff = self.repo.diff(self.repo[base_id].peel(pygit2.Tree), head.tree)
        return sorted({p for d in diff.deltas for p in (d.old_file.path, d.new_file.path)})

    # ---------------------------------------------------------------- feedback
    def comments(self, number: int) -> list[Comment]:
        return [Comment(c["id"], c["author"], c["body"]) for c in self._load()["comments"]
                if c["pr"] == number]

    def upsert_comment(self, number: int, body: str, *, author: str = BOT) -> Comment:
        body = with_marker(body)
        state = self._load()
        self._raw(state, number)
        for c in state["comments"]:
            if c["pr"] == number and is_gitramp_comment(
                    Comment(c["id"], c["author"], c["body"]), (BOT,)):
                c["body"] = body
                self._save(state)
                return Comment(c["id"], c["author"], body)
        c = {"id": state["next_comment"], "pr": number, "author": author, "body": body}
        state["next_comment"] += 1
        state["comments"].append(c)
        self._save(state)
        return Comment(c["id"], author, body)

    def set_status(self, sha: str, state: str, description: str, *,
                   context: str = STATUS_CONTEXT, target_url: str | None = None) -> None:
        check_state(state)
        data = self._load()
        data["statuses"].append({"sha": sha, "state": state, "description": description,
                                 "context": context, "target_url": target_url})
        self._save(data)

    def statuses(self, sha: str) -> list[dict]:
        return [s for s in self._load()["statuses"] if s["sha"] == sha]

    def add_labels(self, number: int, *labels: str) -> None:
        state = self._load()
        raw = self._raw(state, number)
        raw["labels"] += [lb for lb in labels if lb not in raw["labels"]]
        self._save(state)

    def remove_label(self, number: int, label: str) -> None:
        state = self._load()
        raw = self._raw(state, number)
        raw["labels"] = [lb for lb in raw["labels"] if lb != label]
        self._save(state)

    def merge(self, number: int, *, sha: str, message: str = "") -> str:
        """A merge commit on the base branch (a fast-forward when the base has not moved)."""
        state = self._load()
        raw = self._raw(state, number)
        pr = self._to_pull(number, raw)
        if pr.state != "open":
            raise ForgeError(f"PR #{number} is {pr.state}; only an open PR can be merged")
        if pr.head_sha != sha:
            raise ForgeError(f"PR #{number} moved to {pr.head_sha[:10]} since {sha[:10]}; "
                             "score the new head before merging")
        ref = self.repo.references[f"refs/heads/{pr.base_ref}"]
        base = self.repo[ref.target].peel(pygit2.Commit)
        head = self.repo[sha].peel(pygit2.Commit)
        if self.repo.descendant_of(head.id, base.id) or head.id == base.id:
            new = head.id
        else:
            index = self.repo.merge_commits(base, head)
            if index.conflicts is not None:
                raise ForgeError(f"PR #{number} conflicts with {pr.base_ref}; the participant "
                                 "must merge the base branch into it")
            tree = index.write_tree(self.repo)
            sig = pygit2.Signature("gitramp", "gitramp@localhost")
            new = self.repo.create_commit(None, sig, sig, message or f"Merge PR #{number}",
                                          tree, [base.id, head.id])
        ref.set_target(new)
        raw["state"] = "merged"
        self._save(state)
        return str(new)
