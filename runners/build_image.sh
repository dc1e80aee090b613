#!/usr/bin/env bash
# Builds the base scoring image with no container registry: debootstrap a minimal Debian
# bookworm with python3, install the pinned wheels of the requirements file into it,
# `docker import` the result. See runners/IMAGE.md.
#
# Run it through the command line, which derives the tag (a hash of the recipe),
# reuses an existing image and passes the recipe's requirements.txt:
#
#   gitramp image build [--force]                             # = make image
#   BASE_IMAGE=python:3.11-slim-bookworm gitramp image build   # with a registry
#
# A kit's own `requirements:` are not installed here: `gitramp image build --kit DIR`
# adds them, with their dependencies, as a layer on top of this image
# (scorer/backends/kit_image.py).
#
# Direct use: build_image.sh TAG REQUIREMENTS_FILE (PYTHON: the python whose pip fetches
# the wheels). Needs root (debootstrap), docker, and PyPI (or a pip index/mirror).
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 TAG REQUIREMENTS_FILE (see gitramp image build)" >&2; exit 2; }
tag="$1"
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

start=$(date +%s)
work="$(mktemp -d /tmp/gitramp-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp "$2" "$work/requirements.txt"
cp "$here/manifest.py" "$work/manifest.py"

if [ -n "${BASE_IMAGE:-}" ]; then
  echo "image: docker build FROM $BASE_IMAGE -> $tag"
  docker build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" -f "$here/Dockerfile" \
    -t "$tag" --label gitramp.recipe="$tag" "$work"
else
  command -v debootstrap >/dev/null || {
    echo "image: debootstrap is missing (apt-get install debootstrap), or set BASE_IMAGE" >&2
    exit 1; }
  rootfs="$work/rootfs"
  echo "image: debootstrap $suite (minbase + python3) from $mirror"
  debootstrap --variant=minbase --include=python3 "$suite" "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

  # The wheels: the same platform as the image (glibc 2.36, CPython 3.11), binary only,
  # so nothing is compiled and the host's own Python version does not matter.
  pyver="$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  platforms=()
  for minor in $(seq 36 -1 17); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
  echo "image: installing wheels for python $pyver"
  "$py" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "${platforms[@]}" --implementation cp --python-version "$pyver" --abi "cp${pyver/./}" \
    --target "$rootfs/usr/local/lib/python$pyver/dist-packages" -r "$work/requirements.txt"

  # Slimmer and safer: no docs, apt caches or package tests; no setuid binaries; the
  # unprivileged user that submissions run as.
  rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs/usr/local/lib/python$pyver/dist-packages/bin"
  find "$rootfs/usr/local/lib/python$pyver/dist-packages" -depth -type d -name tests \
    -exec rm -rf {} +
  find "$rootfs" -xdev -type f -perm /6000 -exec chmod ug-s {} +
  echo "runner:x:10001:10001:submission:/tmp:/usr/sbin/nologin" >>"$rootfs/etc/passwd"
  echo "runner:x:10001:" >>"$rootfs/etc/group"
  mkdir -p "$rootfs/submission" "$rootfs/inputs" "$rootfs/out" "$rootfs/opt/gitramp"
  # What the image holds (OS and Python packages, versions, file hashes), read by runners
  # without running anything in it: images are compared by content, not by id.
  mkdir -p "$rootfs/etc/gitramp"
  chroot "$rootfs" python3 - / <"$here/manifest.py" >"$rootfs/etc/gitramp/manifest.json"

  echo "image: docker import -> $tag"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'USER 10001:10001' --change 'WORKDIR /tmp' \
    --change 'ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8 HOME=/tmp' \
    --change 'ENV PYTHONPATH=/opt/gitramp' \
    --change "LABEL gitramp.recipe=$tag" \
    --change 'CMD ["python3"]' - "$tag" >/dev/null
fi

docker run --rm --network none "$tag" python3 -c \
  'import numpy, scipy, pandas, sklearn; print("image: numpy", numpy.__version__,
   "scipy", scipy.__version__, "pandas", pandas.__version__, "scikit-learn", sklearn.__version__)'
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "image: built $tag in $(( $(date +%s) - start )) s, $(( size / 1000000 )) MB"
