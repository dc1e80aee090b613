"""Synthetic challenge repositories shaped like the real thing, for tests and benchmarks
(test data, not part of the installed package).

A real git repository (pygit2) holding a hub with small kits, one commit per
submission version on `submit/<team>/<name>-<challenge>` branches (a derived submission's commit
descends from its parent's), and a ledger of `Result` records laid out as runners
write it: public records, `state.yml`, and private records kept apart (in a private
ledger folder, copied under `private/` only when revealed). The caller gets back
every full result and every source file, so a test can check what must not leak.
"""

from __future__ import annotations

import hashlib
import math
import random
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import yaml

from challenge.ledger import (
    LEDGER_ROOT,
    Visibility,
    record_path,
    record_stem,
    state_path,
    version_label,
)
from scorer.result import SCORED, FoldScores, Result

SIGNATURE = pygit2.Signature("gitramp synthetic", "synthetic@example.invalid", 1764547200, 0)
SCORE_TYPES = (("acc", "accuracy", False), ("nll", "log_loss", True), ("f1", "f1", False),
               ("bacc", "balanced_accuracy", False))
TEAMS = ("ada", "grace", "linus", "margaret", "barbara", "edsger", "alan", "frances",
         "donald", "ken", "radia", "tim")
MODELS = ("random_forest", "logreg", "gradient_boosting", "knn", "svm", "extra_trees",
          "naive_bayes", "mlp")
FAILURES = (("error", "fit", "classifier.py line 14: ValueError: Input X contains NaN. "
             "Impute missing values before fitting."),
            ("timeout", "fit", "training took longer than the 300 s limit; "
             "reduce n_estimators or the data you fit on"),
            ("invalid_output", "predict", "predict_proba returned shape (30, 2); expected "
             "(30, 3), one column per class"),
            ("rejected", "validate", "the pull request changes files outside "
             "submissions/<name>/; keep your changes inside your own folder"))
CLOSED_START = datetime(2026, 12, 1, tzinfo=UTC)
OPEN_START = datetime(2026, 12, 15, tzinfo=UTC)
OPEN_END = datetime(2027, 1, 10, tzinfo=UTC)


@dataclass
class Version:
    """One synthetic submission version with everything the site might (not) show."""

    challenge: str
    team: str
    name: str
    stem: str  # its ledger file's name without `.yml`
    result: Result  # with private test scores
    sources: dict[str, str]  # file name -> text
    parent: Version | None = None


@dataclass
class SyntheticChallenge:
    name: str
    kit_dir: Path
    code_visible: bool
    revealed: bool
    precision: int
    versions: list[Version] = field(default_factory=list)

    def private_scores(self) -> list[float]:
        out = []
        for v in self.versions:
            r = v.result
            out += [f.scores["test"][n] for f in r.folds if "test" in f.scores
                    for n in f.scores["test"]]
            out += list(r.bagged.get("test", {}).values())
        return out


@dataclass
class SyntheticRepo:
    path: Path
    private_ledger: Path
    challenges: dict[str, SyntheticChallenge]


# ------------------------------------------------------------------------------ kits
def kit_yaml(title: str, n_scores: int, precision: int) -> str:
    scores = ", ".join(f"{{name: {n}, type: {t}, precision: {precision}}}"
                       for n, t, _ in SCORE_TYPES[:n_scores])
    return (f"title: {title}\n"
            "description: Tell three flower species apart from four measurements.\n"
            "workflow: classifier\ntarget: species\n"
            "prediction: {type: multiclass, labels: [setosa, versicolor, virginica]}\n"
            f"scores: [{scores}]\n"
            "cv: {type: StratifiedShuffleSplit, n_splits: 5, test_size: 0.2, random_state: 42}\n"
            "data: {train: data/train.csv, test: data/test.csv}\n"
            "limits: {timeout: 300, memory: 2g, cpus: 1, max_files: 5, max_bytes: 100KB}\n"
            "phases:\n"
            f"  - {{name: closed, start: {CLOSED_START:%Y-%m-%dT%H:%MZ}, "
            f"end: {OPEN_START:%Y-%m-%dT%H:%MZ}, per_day: 3}}\n"
            f"  - {{name: open, start: {OPEN_START:%Y-%m-%dT%H:%MZ}, "
            f"end: {OPEN_END:%Y-%m-%dT%H:%MZ}, per_day: 10}}\n")


README = """# {title}

Each row is one flower: the length and width of its sepal and petal, in centimetres.
Predict its *species*.

| score | direction |
|-------|-----------|
| accuracy | higher is better |
| log-loss | lower is better |

Start from the starting kit and test locally with `gitramp test`; see the
[starting kit](submissions/starting_kit/) and the [scikit-learn user guide](https://scikit-learn.org/).

<script>alert("raw HTML in a README must not run")</script>

![a picture that must not be fetched](https://example.com/iris.png)
"""

STARTING_KIT = '''from sklearn.linear_model import LogisticRegression


class Classifier:
    def __init__(self):
        self.model = LogisticRegression(max_iter=200)

    def fit(self, X, y):
        self.model.fit(X, y)
        return self

    def predict_proba(self, X):
        return self.model.predict_proba(X)
'''


def submission_code(name: str, team: str, uid: int, rng: random.Random,
                    parent: str | None = None) -> dict[str, str]:
    """A classifier.py whose every line is this version's own (tests look for them)."""
    if parent is not None:
        lines = parent.rstrip("\n").split("\n")
        lines.insert(1, f"# {team} tuned this copy: variant {uid} of {name}")
        lines = [ln.replace("n_estimators=", f"n_estimators={uid % 7 + 1}") if "n_est" in ln
                 else ln for ln in lines]
        return {"classifier.py": "\n".join(lines) + f"\nTUNED_{uid}_BY_{team.upper()} = True\n"}
    depth = rng.randint(2, 12)
    return {"classifier.py": f'''"""{name} by {team}, version {uid}."""
from sklearn.ensemble import RandomForestClassifier as Forest_{uid}


class Classifier:
    def __init__(self):
        self.model_{uid} = Forest_{uid}(n_estimators={10 + uid}, max_depth={depth},
                                        random_state={uid})

    def fit(self, X, y):
        self.model_{uid}.fit(X, y)  # {team} fits {name} v{uid}
        return self

    def predict_proba(self, X):
        return self.model_{uid}.predict_proba(X)  # {team} predicts {name} v{uid}
'''}


# ----------------------------------------------------------------------------- git
def _tree_with(repo: pygit2.Repository, base: pygit2.Tree | None, parts: list[str],
               leaf: pygit2.Oid) -> pygit2.Oid:
    """`base` with the tree `leaf` put at the path `parts` (trees made as needed)."""
    tb = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
    if len(parts) == 1:
        tb.insert(parts[0], leaf, pygit2.GIT_FILEMODE_TREE)
        return tb.write()
    sub = None
    if base is not None and parts[0] in base:
        sub = repo.get(base[parts[0]].id)
    tb.insert(parts[0], _tree_with(repo, sub, parts[1:], leaf), pygit2.GIT_FILEMODE_TREE)
    return tb.write()


def _folder_tree(repo: pygit2.Repository, files: dict[str, str]) -> pygit2.Oid:
    tb = repo.TreeBuilder()
    for fname, text in sorted(files.items()):
        tb.insert(fname, repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
    return tb.write()


def _commit(repo, tree, parents, message, ref=None) -> pygit2.Oid:
    return repo.create_commit(ref, SIGNATURE, SIGNATURE, message, tree, parents)


# ------------------------------------------------------------------------- building
@dataclass
class Plan:
    """How to fill one challenge."""

    name: str
    title: str
    n_submissions: int
    n_teams: int = 5
    n_scores: int = 3
    n_folds: int = 5
    code_visible: bool = False
    revealed: bool = False
    fail_every: int = 7  # every n-th submission fails
    derive_share: float = 0.3  # share of submissions built on an earlier one
    precision: int = 4
    commits: bool = True  # False: objects only (fast), lineage still set
    leave_private_copies: bool = False  # private/ present but state unrevealed
    distinct_private: bool = True  # private values printed unlike any public one (tests)
    seed: int = 0


def make_repo(path: Path, plans: list[Plan], *, hub: bool = True) -> SyntheticRepo:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    repo = pygit2.init_repository(str(path), initial_head="main")
    private_root = path.parent / f"{path.name}-private-ledger"
    tree = None
    for plan in plans:
        kit_dir = path / "kits" / plan.name if hub else path
        kit_dir.mkdir(parents=True, exist_ok=True)
        files = {"challenge.yml": kit_yaml(plan.title, plan.n_scores, plan.precision),
                 "README.md": README.format(title=plan.title)}
        for fname, text in files.items():
            (kit_dir / fname).write_text(text)
        (kit_dir / "submissions" / "starting_kit").mkdir(parents=True, exist_ok=True)
        (kit_dir / "submissions" / "starting_kit" / "classifier.py").write_text(STARTING_KIT)
        kit_tree_files = dict(files)
        kit_oid = _folder_tree(repo, kit_tree_files)
        kit_obj = repo.get(kit_oid)
        sk = _folder_tree(repo, {"classifier.py": STARTING_KIT})
        kit_oid = _tree_with(repo, kit_obj, ["submissions", "starting_kit"], sk)
        parts = ["kits", plan.name] if hub else None
        if parts:
            tree = repo.get(_tree_with(repo, tree, parts, kit_oid))
        else:
            tree = repo.get(kit_oid)
    base = _commit(repo, tree.id, [], "kits", "refs/heads/main")
    challenges = {}
    shown: set[str] = set()  # printed forms of every public number, across challenges
    for plan in plans:
        kit_dir = path / "kits" / plan.name if hub else path
        ch = SyntheticChallenge(plan.name, kit_dir, plan.code_visible, plan.revealed,
                                plan.precision)
        _fill(repo, path, private_root, base, plan, ch, hub, shown)
        challenges[plan.name] = ch
    commit_ledger(path, "ledger: results of the synthetic season")
    return SyntheticRepo(path, private_root, challenges)


def _dir_tree(repo: pygit2.Repository, folder: Path) -> pygit2.Oid:
    tb = repo.TreeBuilder()
    for item in sorted(folder.iterdir()):
        if item.is_dir():
            tb.insert(item.name, _dir_tree(repo, item), pygit2.GIT_FILEMODE_TREE)
        else:
            tb.insert(item.name, repo.create_blob(item.read_bytes()), pygit2.GIT_FILEMODE_BLOB)
    return tb.write()


def commit_ledger(path: Path, message: str) -> str:
    """Commit the work tree's `leaderboard_data/` on main, as a runner's ledger commit."""
    repo = pygit2.Repository(str(path))
    head = repo.head.peel(pygit2.Commit)
    ledger = _dir_tree(repo, Path(path) / LEDGER_ROOT)
    tb = repo.TreeBuilder(head.tree)
    tb.insert(LEDGER_ROOT, ledger, pygit2.GIT_FILEMODE_TREE)
    return str(_commit(repo, tb.write(), [head.id], message, "HEAD"))


def _fill(repo, path: Path, private_root: Path, base, plan: Plan, ch: SyntheticChallenge,
          hub: bool, public_strings: set[str]) -> None:
    rng = random.Random(plan.seed)
    names = [n for n, _, _ in SCORE_TYPES[:plan.n_scores]]
    lower = {n: lower_is_better for n, _, lower_is_better in SCORE_TYPES[:plan.n_scores]}
    teams = [TEAMS[i % len(TEAMS)] + ("" if i < len(TEAMS) else f"_{i // len(TEAMS)}")
             for i in range(plan.n_teams)]
    skill = {t: rng.uniform(0.72, 0.9) for t in teams}
    span = (OPEN_END - CLOSED_START).total_seconds()
    times = sorted(rng.uniform(0, span * 0.9) for _ in range(plan.n_submissions))
    scoring_hash = hashlib.sha1(f"kit-{plan.name}-{plan.seed}".encode()).hexdigest()[:16]
    base_tree = repo.get(base).tree
    folder = ["kits", plan.name, "submissions"] if hub else ["submissions"]
    scored: list[Version] = []  # scored versions so far, and how many each team has
    scored_by_team: dict[str, int] = {}
    for i in range(plan.n_submissions):
        team = teams[rng.randrange(len(teams))]
        t = CLOSED_START + timedelta(seconds=times[i])
        open_phase = t >= OPEN_START
        parent = None
        # the earlier scored versions of other teams, picked among the last 50 of them
        # (walked back from the end: linear in the ledger's size, not quadratic)
        n_earlier = len(scored) - scored_by_team.get(team, 0)
        if n_earlier and rng.random() < plan.derive_share * (2 if open_phase else 0.5):
            k = rng.randrange(max(0, n_earlier - 50), n_earlier)
            back = n_earlier - 1 - k  # how many other-team versions come after it
            for v in reversed(scored):
                if v.team != team:
                    if back == 0:
                        parent = v
                        break
                    back -= 1
        model = parent.name.split("_tuned")[0].rstrip("0123456789_") if parent else \
            MODELS[rng.randrange(len(MODELS))]
        name = f"{model}_tuned_{i}" if parent else f"{model}_{i}"
        sources = submission_code(name, team, i, rng,
                                  parent.sources["classifier.py"] if parent else None)
        folder_tree = _folder_tree(repo, sources)
        commit = None
        if plan.commits:
            parent_commit = parent.result.commit if parent else str(base)
            ptree = repo.get(parent_commit).tree if parent else base_tree
            tree = _tree_with(repo, ptree, folder + [name], folder_tree)
            commit = str(_commit(repo, tree, [parent_commit],
                                 f"{name}: submission {i}",
                                 f"refs/heads/submit/{team}/{name}-{plan.name}"))
        status = SCORED
        failure = None
        if plan.fail_every and i % plan.fail_every == plan.fail_every - 1:
            failure = FAILURES[(i // plan.fail_every) % len(FAILURES)]
            status = failure[0]
        stem = record_stem(str(folder_tree), scoring_hash)
        quality = min(0.99, skill[team] + (0.04 if parent else 0) + 0.05 * math.tanh(i / 40)
                      + rng.gauss(0, 0.02))
        result = Result(
            challenge=plan.name, submission=name, status=status, score_names=names,
            lower_is_better=lower, precision={n: plan.precision for n in names},
            reason=failure[2] if failure else None, stage=failure[1] if failure else None,
            log_tail=(f"Traceback (most recent call last):\n  File \"classifier.py\", line "
                      f"14, in fit\n{failure[2]}\n") if failure else "",
            team=team, pr=1000 + i, commit=commit, tree=str(folder_tree),
            kit_commit=str(base), scoring_hash=scoring_hash,
            phase="open" if open_phase else "closed",
            submitted_at=t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            scored_at=(t + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            runner="runner-1", backend="docker",
            image="sha256:" + "ab12" * 16)
        if status == SCORED:
            _scores(result, rng, quality, names, lower, plan, public_strings)
            if plan.code_visible and rng.random() < 0.5:
                result.contributivity = {"blend": round(rng.uniform(0, 30), 1),
                                         "historical": round(rng.uniform(0, 30), 1)}
        if parent:
            label = version_label(parent.name, parent.result.tree)
            result.lineage = {"parent": label, "parent_team": parent.team,
                              "ancestors": [label],
                              "inherited_share": round(rng.uniform(0.5, 0.95), 2)}
        else:
            result.lineage = {"parent": None, "parent_team": None, "ancestors": [],
                              "inherited_share": 0.0}
        ch.versions.append(Version(plan.name, team, name, stem, result, sources, parent))
        if status == SCORED:
            scored.append(ch.versions[-1])
            scored_by_team[team] = scored_by_team.get(team, 0) + 1
    for v in ch.versions:
        if v.result.status == SCORED:
            _private_scores(v.result, rng, names, plan.precision,
                            public_strings if plan.distinct_private else None)
        write_record(path, private_root, v, plan.revealed or plan.leave_private_copies)
    state = Visibility(
        code_visible=plan.code_visible,
        opened_at=OPEN_START.strftime("%Y-%m-%dT%H:%M:%SZ") if plan.code_visible else None,
        revealed=plan.revealed,
        revealed_at=OPEN_END.strftime("%Y-%m-%dT%H:%M:%SZ") if plan.revealed else None)
    (path / state_path(plan.name)).write_text(yaml.safe_dump(state.to_dict(), sort_keys=False))


def _scores(result: Result, rng: random.Random, q: float, names, lower, plan: Plan,
            public_strings: set[str]) -> None:
    def value(name: str, level: float) -> float:
        if lower[name]:
            return max(0.01, (1 - level) * 1.6 + rng.gauss(0, 0.03))
        return max(0.0, min(1.0, level + rng.gauss(0, 0.015)))

    for _ in range(plan.n_folds):
        scores = {"train": {n: value(n, min(0.999, q + 0.06)) for n in names},
                  "valid": {n: value(n, q) for n in names}}
        result.folds.append(FoldScores(scores, fit_time=rng.uniform(0.05, 2.5),
                                       predict_time=rng.uniform(0.005, 0.2)))
    result.bagged = {"valid": {n: value(n, q + 0.005) for n in names}}
    p = plan.precision
    for split in ("train", "valid"):
        for n in names:
            vals = [f.scores[split][n] for f in result.folds]
            vals += [result.mean(split)[n], result.std(split)[n]]
            vals += [result.bagged.get(split, {}).get(n, 0.0)]
            public_strings.update(f"{v:.{p}f}" for v in vals)


def _private_scores(result: Result, rng: random.Random, names, p: int,
                    public_strings: set[str] | None) -> None:
    """Test scores near the validation ones whose printed forms appear nowhere public,
    so a search of the site for them cannot be fooled by a public number."""
    def distinct(v: float) -> float:
        if public_strings is None:
            return v
        for _ in range(1000):
            if f"{v:.{p}f}" not in public_strings:
                break
            v += rng.choice((-1, 1)) * 10 ** -p
        public_strings.add(f"{v:.{p}f}")  # two private values never share a form either
        return v

    for f in result.folds:
        f.scores["test"] = {n: distinct(f.scores["valid"][n] + rng.gauss(0, 0.02))
                            for n in names}
    result.bagged["test"] = {n: distinct(result.bagged["valid"][n] + rng.gauss(0, 0.02))
                             for n in names}
    # once revealed, the site prints their mean and std too
    if public_strings is not None:
        public_strings.update(f"{v:.{p}f}" for s in (result.mean("test"),
                                                     result.std("test")) for v in s.values())


def _yaml(data: dict) -> str:
    """What `Result.to_yaml` writes, through libyaml when present (big ledgers)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def write_record(path: Path, private_root: Path, v: Version, copy_private: bool) -> None:
    """The record's public part in the repository, its private part in the private
    ledger folder (same relative path), copied back when revealed."""
    public = path / record_path(v.challenge, v.name, v.stem)
    public.parent.mkdir(parents=True, exist_ok=True)
    public.write_text(_yaml(v.result.public_dict()))
    private = private_root / record_path(v.challenge, v.name, v.stem)
    private.parent.mkdir(parents=True, exist_ok=True)
    private.write_text(_yaml(v.result.private_dict()))
    if copy_private:
        target = path / record_path(v.challenge, v.name, v.stem, private=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(private, target)


def add_submission(srepo: SyntheticRepo, challenge: str, seed: int = 99,
                   like: Version | None = None, parent: Version | None = None) -> Version:
    """One more scored version, as a runner would record it (for incremental builds).
    It scores as `like` does (by default the newest version, or the newest scored), and
    is submitted after the newest, so it ranks just below `like`; built on `parent`
    when given (its lineage names it)."""
    ch = srepo.challenges[challenge]
    rng = random.Random(seed)
    repo = pygit2.Repository(str(srepo.path))
    last = ch.versions[-1]
    i = len(ch.versions)
    name = f"late_entry_{i}"
    sources = submission_code(name, last.team, i, rng)
    folder_tree = _folder_tree(repo, sources)
    model = like or last
    result = Result.from_dict(model.result.to_dict()) if model.result.status == SCORED else None
    if result is None:
        scored = [v for v in ch.versions if v.result.status == SCORED]
        result = Result.from_dict(scored[-1].result.to_dict())
    t = datetime.fromisoformat(last.result.submitted_at.replace("Z", "+00:00"))
    result.submission, result.tree, result.commit = name, str(folder_tree), None
    result.submitted_at = (t + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result.lineage = {"parent": None, "parent_team": None, "ancestors": [],
                      "inherited_share": 0.0}
    if parent is not None:
        label = version_label(parent.name, parent.result.tree)
        result.lineage = {"parent": label, "parent_team": parent.team, "ancestors": [label],
                          "inherited_share": 0.5}
    v = Version(challenge, result.team, name, record_stem(str(folder_tree),
                                                          result.scoring_hash), result, sources,
                parent)
    ch.versions.append(v)
    write_record(srepo.path, srepo.private_ledger, v, ch.revealed)
    commit_ledger(srepo.path, f"ledger: {name}")
    return v


def demo_repo(path: Path) -> SyntheticRepo:
    """A small hub like the demo's: one challenge in its open phase with the private board
    revealed, one still closed (with stray private copies that must stay unread)."""
    return make_repo(path, [
        Plan("iris_open", "Iris species (open phase)", 24, n_teams=5, code_visible=True,
             revealed=True, seed=1),
        # other score columns than its neighbour's: pages must not mix the two up
        Plan("iris_closed", "Iris species (closed phase)", 14, n_teams=4, n_scores=2,
             code_visible=False, revealed=False, leave_private_copies=True, derive_share=0.0,
             seed=2),
    ])


def bench_repo(path: Path, n: int, *, n_folds: int = 5, n_scores: int = 3,
               code_visible: bool = False, revealed: bool = False,
               seed: int = 0) -> SyntheticRepo:
    teams = max(5, n // 40)
    return make_repo(path, [Plan("bench", "Benchmark challenge", n, n_teams=teams,
                                 n_scores=n_scores, n_folds=n_folds,
                                 code_visible=code_visible, revealed=revealed,
                                 commits=False, fail_every=10, distinct_private=False,
                                 seed=seed)])
