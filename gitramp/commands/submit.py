"""`gitramp submit`: seal a submission folder of your clone to the challenge's public
key and commit it, never the plain files, on a branch (`submit/<team>/<name>` unless
--branch names another), and push it with --push REMOTE.

    gitramp submit --submission my_model [--team my-team] [--push origin]

Run `gitramp test` on the plain files first; they stay in your folder (keep them out of
git: add the folder to .git/info/exclude). Open a pull request from the branch, or
let the hub's runners score the branch."""

from __future__ import annotations

import argparse
from pathlib import Path

import pygit2

from challenge import repo as gitrepo
from challenge import sealing
from challenge.errors import GitrampError
from challenge.kit import load_kit
from challenge.validate import check_local_folder, folder_files
from gitramp.options import add_repo, git_user


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("submit", help="seal a submission and commit it on a branch",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--submission", required=True, help="the folder under submissions/")
    p.add_argument("--challenge", default=None, help="the kit, when the repository has several")
    p.add_argument("--team", default=None, help="your team (default: git's user.name)")
    p.add_argument("--branch", default=None,
                   help="the branch to commit on (default: submit/<team>/<submission>)")
    p.add_argument("--push", metavar="REMOTE", default=None, help="push the branch there")
    p.add_argument("--message", default=None, help="the commit message (add trailers such "
                   "as Final-selection: yes here)")
    add_repo(p)
    return p


def run(args: argparse.Namespace) -> int:
    repo = gitrepo.open_repo(args.repo)
    if repo.workdir is None:
        raise GitrampError(f"{args.repo}: gitramp submit seals a folder of a clone; this "
                           "repository has no work tree")
    base = repo.head.peel(pygit2.Commit)
    kits = [k for k in gitrepo.find_kits(repo, base.tree)
            if args.challenge in (None, k.name)
            and (Path(repo.workdir) / k.path("submissions", args.submission)).is_dir()]
    if len(kits) != 1:
        raise GitrampError(f"no single kit holds submissions/{args.submission}/ here"
                           + ("; name it with --challenge" if kits else ""))
    loc = kits[0]
    kit = load_kit(Path(repo.workdir) / loc.prefix)
    if not kit.seal_key:
        raise GitrampError(f"{kit.name} takes plain submissions (its challenge.yml has no "
                           "seal_key): commit the folder and open a pull request")
    folder = Path(repo.workdir) / loc.path("submissions", args.submission)
    problems = check_local_folder(kit, folder)
    if problems:
        raise GitrampError("; ".join(str(p) for p in problems))
    files = {f.path: (folder / f.path).read_bytes() for f in folder_files(folder)}
    team = args.team or git_user(repo)
    ref = args.branch or f"refs/heads/submit/{team}/{args.submission}"
    ref = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
    commit = sealing.commit_sealed(
        repo, base, loc.path("submissions", args.submission), files, kit.seal_key, ref,
        author=team, message=args.message or f"Sealed submission {args.submission}\n")
    print(f"sealed {len(files)} file(s) of {args.submission} to {kit.name}'s key; "
          f"committed {str(commit)[:10]} on {ref.removeprefix('refs/heads/')}")
    if args.push:
        repo.remotes[args.push].push([f"+{ref}:{ref}"])
        print(f"pushed {ref.removeprefix('refs/heads/')} to {args.push}")
    return 0

