"""The image files of an image_classifier kit, on the scorer's side (trusted code).

The kit's data folder holds the label tables (`data.train`, `data.test`: a column `id`,
the image's file name inside `data.images`, and the target) and the folder of images.
The scorer reads the tables, never the images: the features of a row are its id
(`ImageSet`, scorer/workflows/image_classifier.py), and a submission reads the images
it is given, lazily.

What the fold processes receive is `inputs/images/`: the images the tables name, and
nothing else of the data folder (no table, so no label, and no other file the
organizer keeps beside the images). Each file is a hard link to the kit's file where
other users may already read that file and it is on the same file system (no copy,
however large the data set), else a copy readable by all. Fold processes read it by
the ids of their loader; the labels they get are their fold's (scorer/inputs.py).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path, PurePosixPath

import pandas as pd

from scorer.errors import GitrampError
from scorer.workflows.image_classifier import FOLDER, ImageSet

ID = "id"


class ImageDataError(GitrampError):
    pass


def image_set(X: pd.DataFrame, folder: Path, where: str) -> ImageSet:
    """The features of the rows of a label table (`where` names it): their ids, each
    the name of a file inside `folder`, checked to be one."""
    if ID not in X.columns:
        raise ImageDataError(f"{where}: no column {ID!r}; an image_classifier kit's tables "
                             "hold the image's file name in a column id, and the target")
    extra = [c for c in X.columns if c != ID]
    if extra:
        raise ImageDataError(f"{where}: columns {extra[:5]} besides id and the target; list "
                             "them in data.drop (a submission receives the images only)")
    if not folder.is_dir():
        raise ImageDataError(f"{folder}: the images folder (data.images) is not there")
    ids = X[ID].to_numpy()
    for row, name in enumerate(ids):
        _check_name(name, row, where)
    missing = [str(n) for n in ids if not (folder / str(n)).is_file()]
    if missing:
        raise ImageDataError(f"{where}: {len(missing)} images are not files in {folder}, "
                             f"e.g. {missing[:3]}")
    return ImageSet(ids.astype(str), folder)


def _check_name(name, row: int, where: str) -> None:
    text = name if isinstance(name, str) else None
    path = PurePosixPath(text) if text else None
    if (path is None or path.is_absolute() or ".." in path.parts or "\\" in text
            or text != path.as_posix() or any(p.startswith(".") for p in path.parts)):
        raise ImageDataError(f"{where}: row {row + 1}: id {name!r} is not the relative name "
                             "of a file in the images folder (such as 0001.npy)")


def write_images(X_train: ImageSet, X_test: ImageSet, inputs: Path) -> tuple[ImageSet, ImageSet]:
    """`inputs/images/` with the images of both sets (see the module doc); returns the
    sets without their folder, which each process binds to its own copy of inputs."""
    target = inputs / FOLDER
    target.mkdir(mode=0o755)
    for X in (X_train, X_test):
        source = Path(X.folder)
        for name in X.ids:
            dst = target / name
            if os.path.lexists(dst):
                continue
            dst.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            _link_or_copy(source / name, dst)
    return ImageSet(X_train.ids), ImageSet(X_test.ids)


def _link_or_copy(src: Path, dst: Path) -> None:
    st = os.stat(src)
    if st.st_mode & stat.S_IROTH:
        try:
            os.link(src, dst)
            return
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
                raise
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o444)

