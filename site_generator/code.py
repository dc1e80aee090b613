"""Submission code read from git objects (pygit2) and highlighted (pygments).

The ledger pins each version by its submission folder's tree and its commit, so the
code shown is exactly the code that was scored, whatever the work tree holds now.
Only the builder calls this, and only for challenges whose code is visible.
"""

from __future__ import annotations

import functools
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import pygit2
from markupsafe import Markup

from site_generator import kept
from site_generator.render import library_versions, source_digest

MAX_SHOWN_BYTES = 200_000  # a bigger file is listed, not shown


# Pygments' lexers and formatter are imported when something is highlighted: a rebuild
# whose code is all kept highlighted (most) does not pay for loading them.
@functools.cache
def _formatter():
    from pygments.formatters import HtmlFormatter
    return HtmlFormatter(cssclass="highlight", linenos=False, wrapcode=True)


def _pygmentize(text: str, lexer) -> str:
    from pygments import highlight
    return highlight(text, lexer, _formatter())


def _diff_lexer():
    from pygments.lexers import DiffLexer
    return DiffLexer()


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
              parent: pygit2.Tree | None, cache: HighlightCache | None = None) -> Code:
    files = [_code_file(repo, path, blob, cache) for path, blob in _walk(repo, tree, "")]
    diff_html, stat = None, ""
    if parent is not None and parent.id != tree.id:
        # a diff between two trees never changes: its HTML and stat are kept by their ids
        key = f"{parent.id}..{tree.id}"
        cache = cache or _DEFAULT_CACHE
        shown = cache.lookup(f"{key}.diff", str(tree.id)[:2])
        stat = cache.lookup(f"{key}.stat", str(tree.id)[:2])
        if stat is None:
            diff = repo.diff(parent, tree, context_lines=3)
            patch = diff.patch or ""
            stat = Markup(f"{diff.stats.files_changed} file(s) changed, "
                          f"{diff.stats.insertions} insertion(s), {diff.stats.deletions} "
                          "deletion(s)")
            cache.cached(f"{key}.stat", str(tree.id)[:2], lambda: stat, count=False)
            if len(patch) <= MAX_SHOWN_BYTES:
                shown = cache.cached(f"{key}.diff", str(tree.id)[:2],
                                     lambda: _pygmentize(patch, _diff_lexer()))
        diff_html = shown
        stat = str(stat)
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


def _code_file(repo: pygit2.Repository, path: str, blob: pygit2.Blob,
               cache: HighlightCache | None = None) -> CodeFile:
    html = None
    if not blob.is_binary and blob.size <= MAX_SHOWN_BYTES:
        html = _highlighted(str(blob.id), path.rsplit("/", 1)[-1], blob.data, cache)
    return CodeFile(path, str(blob.id), blob.size, html)


def stylesheet_version() -> str:
    """What the stylesheet (and the highlighted HTML) is made by: Pygments' version."""
    return library_versions(("pygments",))


class HighlightCache:
    """Highlighted HTML by (blob id, file extension), and diffs by their two tree ids,
    kept between builds in a folder (the repository's .git): a file's content is
    highlighted once, whatever number of versions and builds show it. Buckets by the
    blob id's first two hex digits (a diff: its new tree's), read only when a blob of
    theirs is asked for, written back only when they gained an entry."""

    VERSION = 2

    def __init__(self, folder: Path | None):
        self.folder = folder
        # what the kept HTML was made by: this format, this module and Pygments
        self.version = f"{self.VERSION} {source_digest('code.py')} {stylesheet_version()}"
        self.buckets: dict[str, dict[str, bytes]] = {}
        self.dirty: set[str] = set()
        self.seconds = 0.0  # spent highlighting (pygments) in this build
        self.highlighted = 0
        self.hits = 0
        self.memo: dict[str, Markup] = {}

    def _bucket(self, name: str) -> dict[str, bytes]:
        b = self.buckets.get(name)
        if b is None:
            b = {}
            if self.folder is not None:
                b = kept.part(kept.read(self.folder / f"{name}.marshal", self.version),
                              "html")  # missing or damaged: highlighted again
            self.buckets[name] = b
        return b

    def get(self, blob_id: str, filename: str, data: bytes) -> Markup:
        """The highlighted HTML of a blob (its id and the file name's extension say which
        lexer)."""
        return self.cached(f"{blob_id}.{filename.rsplit('.', 1)[-1]}", blob_id[:2],
                           lambda: _pygmentize(data.decode("utf-8", errors="replace"),
                                               _lexer(filename)))

    def lookup(self, key: str, bucket_name: str) -> Markup | None:
        """What is kept for `key`, or None."""
        hit = self.memo.get(key)
        if hit is None:
            stored = self._bucket(bucket_name).get(key)
            if stored is None:
                return None
            hit = self.memo[key] = Markup(zlib.decompress(stored).decode("utf-8"))
        self.hits += 1
        return hit

    def cached(self, key: str, bucket_name: str, make, count: bool = True) -> Markup:
        """`make()`'s HTML for `key`, a name of content that never changes (blob ids, a
        pair of tree ids for a diff): from this build, the folder, or made and kept."""
        hit = self.memo.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        bucket = self._bucket(bucket_name)
        stored = bucket.get(key)
        if stored is not None:
            html = Markup(zlib.decompress(stored).decode("utf-8"))
            self.hits += 1
        else:
            started = time.process_time()
            html = Markup(make())
            self.seconds += time.process_time() - started
            self.highlighted += count
            bucket[key] = zlib.compress(html.encode("utf-8"), 1)
            self.dirty.add(bucket_name)
        if len(self.memo) > 20_000:
            self.memo.clear()
        self.memo[key] = html
        return html

    def save(self) -> None:
        if self.folder is None or not self.dirty:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name in self.dirty:
                kept.write(self.folder / f"{name}.marshal",
                           {"version": self.version, "html": self.buckets[name]})
        except (OSError, ValueError):
            pass  # only costs highlighting again
        self.dirty.clear()


_DEFAULT_CACHE = HighlightCache(None)


def _highlighted(blob_id: str, filename: str, data: bytes,
                 cache: HighlightCache | None = None) -> Markup:
    """Versions of a submission share most files: highlight each blob once."""
    return (cache or _DEFAULT_CACHE).get(blob_id, filename, data)


# Extensions whose lexer is named directly: finding one by file name matches the name
# against every lexer's patterns (about 0.1 s of CPU, once a process), and a rebuild
# after one result highlights a file or two. Each gives the lexer the file name would.
LEXER_OF_EXTENSION = {"py": "python", "txt": "text", "md": "markdown", "json": "json",
                      "yml": "yaml", "yaml": "yaml", "toml": "toml", "sh": "bash",
                      "cfg": "ini", "ini": "ini"}


@functools.lru_cache(maxsize=64)
def _lexer(filename: str):
    from pygments.lexers import TextLexer, get_lexer_by_name, get_lexer_for_filename
    from pygments.util import ClassNotFound

    alias = LEXER_OF_EXTENSION.get(filename.rsplit(".", 1)[-1]) if "." in filename else None
    try:
        if alias == "python":
            return _python_lexer()(stripnl=False)
        if alias is not None:
            return get_lexer_by_name(alias, stripnl=False)
        return get_lexer_for_filename(filename, stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


# Python names as the `re` module knows word characters, in place of the full Unicode
# identifier classes: a lexer compiles its rules when first made in a process, and with
# those classes (3.5 kB of text each) pygments' Python lexer took 22 ms of the 0.5 s a rebuild
# after one result costs at 10,000 submissions (9 ms so). Only names made of letters
# that are no identifier's (rare symbols, in code that does not run) read otherwise.
PYTHON_NAME = r"[^\W\d]\w*"


@functools.cache
def _python_lexer():
    """Pygments' Python lexer, its rules matching names by PYTHON_NAME."""
    from pygments.lexers.python import PythonLexer

    slow = getattr(PythonLexer, "uni_name", None)
    if not slow:  # another pygments: its own lexer as it is
        return PythonLexer

    def lighter(rule):
        if type(rule) is tuple and rule and isinstance(rule[0], str) and slow in rule[0]:
            return (rule[0].replace(slow, PYTHON_NAME), *rule[1:])
        return rule
    tokens = {state: [lighter(r) for r in rules] for state, rules in PythonLexer.tokens.items()}
    return type("PythonLexer", (PythonLexer,), {"tokens": tokens, "__module__": __name__})


def stylesheet() -> str:
    return _formatter().get_style_defs(".highlight")
