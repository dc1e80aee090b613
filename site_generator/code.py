"""Submission code read from git objects (pygit2) and highlighted (pygments).

The ledger pins each version by its submission folder's tree and its commit, so the
code shown is exactly the code that was scored, whatever the work tree holds now.
Only the builder calls this, and only for challenges whose code is visible.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pygit2
from markupsafe import Markup
from pygments import highlight as _pygmentize
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

MAX_SHOWN_BYTES = 200_000  # a bigger file is listed, not shown
_FORMATTER = HtmlFormatter(cssclass="highlight", linenos=False, wrapcode=True)


@dataclass(frozen=True)
class CodeFile:
    path: str
    blob_id: str
    size: int
    html: Markup | None  # None: binary or too big to show


@dataclass(frozen=True)
class Code:
    files: list[CodeFile]
    diff_html: Markup | None  # from the parent version, when there is one
    diff_stat: str


def open_repository(path: Path) -> pygit2.Repository | None:
    try:
        return pygit2.Repository(str(path))
    except (pygit2.GitError, KeyError):
        return None


def submission_tree(repo: pygit2.Repository, tree_id: str | None, commit_id: str | None,
                    folder: str) -> pygit2.Tree | None:
    """The scored folder: its recorded tree, else `folder` inside the recorded commit."""
    for oid, in_commit in ((tree_id, False), (commit_id, True)):
        if not oid:
            continue
        try:
            obj = repo.get(oid)
        except (ValueError, pygit2.GitError):
            obj = None
        if obj is None:
            continue
        if not in_commit and isinstance(obj, pygit2.Tree):
            return obj
        if in_commit and isinstance(obj, pygit2.Commit):
            try:
                sub = obj.tree[folder] if folder else obj.tree
            except KeyError:
                continue
            if isinstance(sub, pygit2.Tree):
                return sub
    return None


def read_code(repo: pygit2.Repository, tree: pygit2.Tree,
              parent: pygit2.Tree | None) -> Code:
    files = [_code_file(repo, path, blob) for path, blob in _walk(repo, tree, "")]
    diff_html, stat = None, ""
    if parent is not None and parent.id != tree.id:
        diff = repo.diff(parent, tree, context_lines=3)
        patch = diff.patch or ""
        stat = (f"{diff.stats.files_changed} file(s) changed, {diff.stats.insertions} "
                f"insertion(s), {diff.stats.deletions} deletion(s)")
        if len(patch) <= MAX_SHOWN_BYTES:
            diff_html = Markup(_pygmentize(patch, DiffLexer(), _FORMATTER))
    elif parent is not None:
        stat = "identical to its parent"
    return Code(files, diff_html, stat)


def _walk(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str):
    for item in sorted(tree, key=lambda t: t.name):
        obj = repo.get(item.id)
        path = f"{prefix}{item.name}"
        if isinstance(obj, pygit2.Tree):
            yield from _walk(repo, obj, path + "/")
        elif isinstance(obj, pygit2.Blob):
            yield path, obj


def _code_file(repo: pygit2.Repository, path: str, blob: pygit2.Blob) -> CodeFile:
    html = None
    if not blob.is_binary and blob.size <= MAX_SHOWN_BYTES:
        html = _highlighted(str(blob.id), path.rsplit("/", 1)[-1], blob.data)
    return CodeFile(path, str(blob.id), blob.size, html)


_HIGHLIGHTED: dict[tuple[str, str], Markup] = {}


def _highlighted(blob_id: str, filename: str, data: bytes) -> Markup:
    """Versions of a submission share most files: highlight each blob once."""
    key = (blob_id, filename.rsplit(".", 1)[-1])
    if key not in _HIGHLIGHTED:
        if len(_HIGHLIGHTED) > 20_000:
            _HIGHLIGHTED.clear()
        text = data.decode("utf-8", errors="replace")
        _HIGHLIGHTED[key] = Markup(_pygmentize(text, _lexer(filename), _FORMATTER))
    return _HIGHLIGHTED[key]


@functools.lru_cache(maxsize=64)
def _lexer(filename: str):
    try:
        return get_lexer_for_filename(filename, stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


def stylesheet() -> str:
    return _FORMATTER.get_style_defs(".highlight")
