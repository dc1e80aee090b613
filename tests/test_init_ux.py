"""`gitramp init` on an example kit: the exported repository tells participants how to
install gitramp, test and submit, ignores the built site, and its workflows install the
gitramp version that exported it."""

from __future__ import annotations

from importlib.metadata import version

import pygit2

from gitramp.main import main


def test_init_writes_taking_part_ignores_site_and_pins_gitramp(tmp_path, capsys):
    out = tmp_path / "my_challenge"
    assert main(["init", "iris", str(out)]) == 0
    repo = pygit2.Repository(str(out))
    tree = repo[repo.references["refs/heads/main"].target].tree
    v = version("gitramp")

    readme = tree["README.md"].data.decode()
    assert "## Taking part" in readme
    assert f"pip install gitramp=={v}" in readme
    assert "gitramp test --submission <your name>" in readme and "classifier.py" in readme
    assert "_site/" in tree[".gitignore"].data.decode().splitlines()

    workflows = [e for e in tree[".github"]["workflows"]]
    specs = [e.data.decode() for e in workflows if b"GITRAMP_PIP_SPEC" in e.data]
    assert specs
    for text in specs:
        assert f"'gitramp=={v}'" in text and "|| 'gitramp')" not in text
