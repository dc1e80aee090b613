"""`make demo`: a whole challenge season, end to end, in `_demo/`.

1. A hub repository `_demo/hub` is made from `kits/` (public data committed, hidden
   data kept out); its phases are written relative to the day it is made: the closed
   phase starts an hour before, the open phase a week later.
2. Teams push submission branches `submit/<team>/<name>`: the kits' examples, a
   failing one, and one sent too soon after the same team's previous one (over quota).
3. `scan` validates and scores them (Docker when an engine answers and the scoring
   image is built, else the local backend), writing the ledger and the private ledger.
4. The open phase is opened: scored submissions are merged, their code visible.
5. A team branches from another team's submission and improves it; `scan` again.
6. The private scores are revealed, submissions blended (when `gitramp blend`
   exists) and the site built (when the site generator exists).

Time: the demo does not wait a week. Each step validates at a chosen instant (the
`now` of `challenge.pipeline.Options`, the `--now` of the CLI): one hour into the
closed phase, then one hour into the open phase. Those instants are read back
from the hub's challenge.yml, so a re-run takes the same decisions and, finding
every version in the ledger already, scores nothing again.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pygit2
from rich.console import Console

from challenge import repo as gitrepo
from challenge.hub import build_hub, commit_files
from challenge.kit import load_kit
from challenge.ledger import Ledger
from challenge.pipeline import Options
from challenge.publish import open_code, reveal
from challenge.scan import ScanEvents, scan
from gitramp.commands.init import EXAMPLES, LEDGER_README
from gitramp.commands.score import describe
from gitramp.main import main as cli
from scorer.backends.docker_image import build_command, image_tag
from site_generator import build

TEAMS = ("alice", "bob", "carol")

FAILING = b'''"""A submission that fails while fitting: the demo shows the reason it gets."""


class Classifier:
    def fit(self, X, y):
        self.columns = list(X.columns)
        raise ValueError(f"expected a column 'petal_area' among {self.columns}")

    def predict_proba(self, X):
        raise NotImplementedError
'''


def improve(code: bytes) -> bytes:
    """The forker's change to the code it started from: the forest it found kept as it
    was, in a soft vote with a scaled logistic regression (lines added, none changed)."""
    text = code.decode()
    text = text.replace(
        "from sklearn.ensemble import RandomForestClassifier\n",
        "from sklearn.ensemble import RandomForestClassifier\n"
        "from sklearn.ensemble import VotingClassifier\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n")
    text = text.replace(
        "random_state=0)\n",
        "random_state=0)\n"
        "        linear = make_pipeline(StandardScaler(), LogisticRegression(C=10.0, "
        "max_iter=1000))\n"
        "        self.model = VotingClassifier([(\"forest\", self.model), (\"linear\", linear)],\n"
        "                                      voting=\"soft\")\n", 1)
    return text.encode()


# Example kits scored in tests and benchmarks, not in the demo (which stays under a
# minute; digits_images needs PyTorch); `only` may still name them.
NOT_IN_DEMO = ("digits_images", "drug_spectra", "el_nino", "hep_tracking", "mars_craters")


class Demo:
    def __init__(self, out: Path, kits_dir: Path, only: list[str] | None, backend: str,
                 workers: int, quick: bool, console: Console):
        self.out, self.kits_dir, self.workers, self.quick = out, kits_dir, workers, quick
        self.hub, self.private, self.site = out / "hub", out / "private-ledger", out / "_site"
        self.console = console
        self.kit_names = sorted(p.parent.name for p in kits_dir.glob("*/challenge.yml")
                                if (p.parent.name not in NOT_IN_DEMO if only is None
                                    else p.parent.name in only))
        if not self.kit_names:
            raise SystemExit(f"no kit found in {kits_dir}")
        # the kit that shows a failure, a quota and a fork: iris when present
        self.main_kit = "iris" if "iris" in self.kit_names else self.kit_names[0]
        self.backend = backend
        self.first_of: dict[str, tuple[str, str, str]] = {}  # kit: its first (team, name)

    def step(self, text: str) -> None:
        self.console.rule(f"[bold]{text}")

    # ------------------------------------------------------------------ the hub
    def make_hub(self) -> datetime:
        """Create the hub (or reuse it); returns the start of its closed phase."""
        if (self.hub / ".git").is_dir():
            repo = pygit2.Repository(str(self.hub))
            head = gitrepo.head_commit(repo)
            kit = gitrepo.load_kit_at(repo, head, gitrepo.find_kits(repo, head.tree)[0])
            self.console.print(f"reusing {self.hub} (delete {self.out} to start afresh)")
            return kit.phases[0].start
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
        repo = build_hub(self.hub, self.kits_dir, self.kit_names, start)
        extra = {"README.md": b"# gitramp demo hub\n\nMade by `make demo`: kits under kits/, "
                              b"results under leaderboard_data/.\n"}
        extra["leaderboard_data/README.md"] = LEDGER_README.read_bytes()
        commit_files(repo, "refs/heads/main", extra, message="Hub README and ledger schema",
                     author="organizer", when=start)
        self.console.print(f"created {self.hub} with kits {', '.join(self.kit_names)}; "
                           f"closed phase from {start:%Y-%m-%d %H:%M}Z")
        return start

    def branch(self, repo: pygit2.Repository, team: str, name: str, kit: str,
               files: dict[str, bytes], when: datetime, parent=None,
               trailer: str = "") -> bool:
        ref = f"refs/heads/submit/{team}/{name}"
        if ref in repo.references:
            return False
        parent = parent or repo.references["refs/heads/main"].target
        commit_files(repo, ref, {f"kits/{kit}/submissions/{name}/{f}": d
                                 for f, d in files.items()},
                     parent=parent, message=f"{name}: submission of {team}\n{trailer}",
                     author=team,
                     when=when)
        self.console.print(f"  branch submit/{team}/{name}  ({kit})")
        return True

    def closed_phase_branches(self, start: datetime) -> None:
        repo = pygit2.Repository(str(self.hub))
        when, i = start + timedelta(minutes=5), 0
        first_of = self.first_of
        for kit in self.kit_names:
            root = self.kits_dir / kit / "submissions"
            for sub in sorted(p.name for p in root.iterdir() if p.is_dir()):
                if sub == "starting_kit":
                    continue
                team = TEAMS[i % len(TEAMS)]
                files = {f.name: f.read_bytes() for f in sorted((root / sub).iterdir())
                         if f.is_file() and f.suffix == ".py"}
                self.branch(repo, team, sub, kit, files, when + timedelta(minutes=i))
                first_of.setdefault(kit, (team, sub, kit))
                i += 1
        first_kit = self.main_kit
        if load_kit(self.kits_dir / first_kit).workflow == "classifier":
            self.branch(repo, "dave", "broken_features", first_kit,
                        {"classifier.py": FAILING}, when + timedelta(minutes=i))
        # the same team again, one minute after its first: min_interval says no
        team, sub, kit = first_of[first_kit]
        files = {f.name: f.read_bytes() for f in
                 sorted((self.kits_dir / kit / "submissions" / sub).glob("*.py"))}
        files = {k: v + b"\n# second try, sent too soon\n" for k, v in files.items()}
        self.branch(repo, team, f"{sub}_again", kit, files, when + timedelta(minutes=i + 1))

    def fork_branch(self) -> None:
        """In the open phase, another team branches from the first iris-like submission."""
        repo = pygit2.Repository(str(self.hub))
        kit = self.main_kit
        origin_team, origin = self.first_of[kit][:2]
        forker = next(t for t in TEAMS if t != origin_team)
        src = repo.references.get(f"refs/heads/submit/{origin_team}/{origin}")
        if src is None:
            return
        head = repo[src.target]
        folder = gitrepo.subtree(repo, head.tree, f"kits/{kit}/submissions/{origin}")
        files = {e.name: improve(repo[e.id].data) for e in folder}
        # it says where its code comes from (a trailer), as docs/contributivity.md asks
        self.branch(repo, forker, f"{origin}_plus", kit, files, datetime.now(UTC),
                    parent=head.id, trailer=f"\nDerived-from: {origin_team}/{origin}\n")

    # ------------------------------------------------------------------ acting
    def options(self, now: datetime) -> Options:
        return Options(backend=self.backend, now=now, quick=self.quick,
                       data_dir=str(self.kits_dir.resolve() / "{challenge}" / "hidden"),
                       private_ledger=self.private, runner="demo-runner")

    def scan(self, now: datetime) -> None:
        started = time.perf_counter()
        outcomes = scan(self.hub, self.options(now), workers=self.workers,
                        events=ScanEvents(scored=lambda o: self.console.print(describe(o)),
                                          noted=lambda o: self.console.print(describe(o))))
        done = [o for o in outcomes if o.status != "skipped"]
        if not done:
            self.console.print("nothing new to score")
        self.console.print(f"scan: {len(done)} outcome(s) in {time.perf_counter() - started:.1f} s")

    def open_phase(self, now: datetime) -> None:
        ledger = Ledger(self.hub)
        head = ledger.head()
        for loc in gitrepo.find_kits(ledger.repo, head.tree):
            commit, merged = open_code(ledger, loc, now)
            self.console.print(f"{loc.name}: code visible, merged {len(merged)} submission(s)"
                               + ("" if commit else " (already open)"))

    def reveal(self, now: datetime) -> None:
        ledger, private = Ledger(self.hub), Ledger(self.private, create=True)
        for loc in gitrepo.find_kits(ledger.repo, ledger.head().tree):
            _, count = reveal(ledger, private, loc.name, now)
            self.console.print(f"{loc.name}: private scores revealed ({count} new)")

    def blend(self) -> None:
        with redirect_stdout(self.console.file):
            code = cli(["blend", "--repo", str(self.hub), "--private-ledger",
                        str(self.private)])
        if code:
            self.console.print(f"[yellow]blending exited with {code}[/]")

    def build_site(self) -> bool:
        self.console.print(str(build(self.hub, self.site)))
        return True

    def refresh_work_tree(self) -> None:
        """Ledger commits never touch a work tree; update the hub's so it can be browsed."""
        repo = pygit2.Repository(str(self.hub))
        repo.checkout_head(strategy=pygit2.enums.CheckoutStrategy.FORCE)


def pick_backend(requested: str, console: Console) -> str:
    if requested != "auto":
        return requested
    reason = _docker_unavailable()
    if reason is None:
        return "docker"
    console.print(f"[yellow]warning:[/] {reason}; scoring with the local backend "
                  "(child processes, no sandbox)")
    return "local"


def _docker_unavailable() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command"
    try:
        if subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode:
            return "no Docker engine answers `docker info`"
        docker.from_env().images.get(image_tag())
    except (OSError, subprocess.TimeoutExpired):
        return "no Docker engine answers `docker info`"
    except Exception:
        return f"the scoring image is not built (`{build_command()}`)"
    return None


def run(out: Path, kits_dir: Path = EXAMPLES, *, only: list[str] | None = None,
        backend: str = "auto", workers: int = 2, quick: bool = False,
        console: Console | None = None) -> Demo:
    console = console or Console()
    started = time.perf_counter()
    demo = Demo(out, kits_dir, only, pick_backend(backend, console), workers, quick, console)
    demo.step("1. the hub")
    start = demo.make_hub()
    closed_now = start + timedelta(hours=1)
    open_now = load_kit_phases_open(demo) + timedelta(hours=1)
    demo.step(f"2. closed phase ({closed_now:%Y-%m-%d %H:%M}Z): teams push submission branches")
    demo.closed_phase_branches(start)
    demo.step(f"3. scan with the {demo.backend} backend")
    demo.scan(closed_now)
    demo.step(f"4. open phase ({open_now:%Y-%m-%d %H:%M}Z): merge scored submissions")
    demo.open_phase(open_now)
    demo.step("5. a team improves another team's submission")
    demo.fork_branch()
    demo.scan(open_now)
    demo.open_phase(open_now)  # in the open phase, newly scored code is merged as well
    demo.step("6. reveal the private scores, blend, build the site")
    demo.reveal(open_now)
    demo.blend()
    demo.refresh_work_tree()
    has_site = demo.build_site()
    with redirect_stdout(console.file):
        cli(["leaderboard", "--repo", str(demo.hub)])
    console.rule("[bold]where to look")
    console.print(f"hub repository:   {demo.hub}  (git log --graph --all --oneline)")
    console.print(f"ledger:           {demo.hub / 'leaderboard_data'}")
    console.print(f"private ledger:   {demo.private}")
    if has_site:
        console.print(f"site:             {demo.site / 'index.html'}")
    console.print(f"leaderboard:      gitramp leaderboard --repo {demo.hub}")
    console.print(f"done in {time.perf_counter() - started:.1f} s")
    return demo


def load_kit_phases_open(demo: Demo) -> datetime:
    repo = pygit2.Repository(str(demo.hub))
    head = gitrepo.head_commit(repo)
    kit = gitrepo.load_kit_at(repo, head, gitrepo.find_kits(repo, head.tree)[0])
    return next(p.start for p in kit.phases if p.name == "open")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m gitramp.demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("_demo"))
    p.add_argument("--kits", type=Path, default=EXAMPLES,
                   help="a folder of kits with their data (default: gitramp's examples, "
                   "whose data `make data` writes)")
    p.add_argument("--only", action="append", default=None, help="only this kit (repeatable)")
    p.add_argument("--backend", default="auto", choices=("auto", "local", "docker"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="quick scoring (subsample, 2 folds)")
    p.add_argument("--fresh", action="store_true", help="delete the previous demo first")
    args = p.parse_args(argv)
    if args.fresh and args.out.exists():
        shutil.rmtree(args.out)
    run(args.out, args.kits, only=args.only, backend=args.backend, workers=args.workers,
        quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
