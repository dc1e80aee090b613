#!/bin/sh
# Installs a kit's requirements into the base scoring image, for
# `gitramp image build --kit DIR` (scorer/backends/kit_image.py; runners/IMAGE.md).
# Runs as root in a container of the base image with no network. Mounted read-only
# under its tmpfs /tmp (so none of it lands in the committed layer):
#   /tmp/gitramp-pip/pip   the pip package of the Python running gitramp (the image has none)
#   /tmp/gitramp-wheels    the wheel folder: the only place pip looks
#   /tmp/gitramp-build     requirements.txt, constraints.txt (the base's own versions,
#                          pinned), manifest.py and this script
# pip sees the base's distributions as installed: it installs what is missing, with
# its dependencies, never a second copy of what the base holds, and fails rather than
# replace one. Then the image's manifest is written again, to list what was added.
set -eu
python3 /tmp/gitramp-pip/pip install --no-index --find-links /tmp/gitramp-wheels \
  --only-binary=:all: --no-cache-dir --disable-pip-version-check --no-input \
  --break-system-packages --root-user-action=ignore \
  -c /tmp/gitramp-build/constraints.txt -r /tmp/gitramp-build/requirements.txt
mkdir -p /etc/gitramp
python3 /tmp/gitramp-build/manifest.py / >/etc/gitramp/manifest.json
