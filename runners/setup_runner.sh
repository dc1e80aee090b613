#!/usr/bin/env bash
# Set up this machine as an ephemeral, just-in-time GitHub Actions runner for a gitramp
# hub: a dedicated user, gitramp in its own virtual environment, the scoring image, the
# runner's .env (hidden data, private ledger) and a systemd unit that registers a fresh
# single-job runner, wipes everything between jobs, and starts again.
# Read runners/SELF_HOSTED.md first. Run as root:
#
#   bash runners/setup_runner.sh --repo OWNER/HUB --runner-dir /opt/actions-runner \
#       --data-dir '/srv/gitramp/hidden/{challenge}' --private-ledger /srv/gitramp/private \
#       [--org ORG --group-id N] [--gpu] [--gitramp SPEC]
#
# The registration token (a fine-grained token with "Administration: write" on the hub,
# or an org token allowed to manage self-hosted runners) goes in
# /etc/gitramp/registration-token (root only, 0600); jobs never see it.
set -euo pipefail

repo="" org="" group_id=1 runner_dir="" data_dir="" private="" gpu=0
spec="$(cd "$(dirname "$0")/.." && pwd)"   # gitramp from this checkout by default
user=gitramp-runner
home=/opt/gitramp

usage() { sed -n '2,16p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) repo="$2"; shift 2 ;;
    --org) org="$2"; shift 2 ;;
    --group-id) group_id="$2"; shift 2 ;;
    --runner-dir) runner_dir="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --private-ledger) private="$2"; shift 2 ;;
    --gpu) gpu=1; shift ;;
    --gitramp) spec="$2"; shift 2 ;;
    *) usage ;;
  esac
done
if [ -z "$repo" ] || [ -z "$runner_dir" ] || [ -z "$data_dir" ] || [ -z "$private" ]; then
  usage
fi
[ "$(id -u)" = 0 ] || { echo "setup_runner.sh: run as root" >&2; exit 2; }
[ -x "$runner_dir/run.sh" ] || {
  echo "setup_runner.sh: no actions runner in $runner_dir; unpack GitHub's runner release" \
       "there first (see SELF_HOSTED.md, 'The runner software')" >&2; exit 2; }
command -v docker >/dev/null || { echo "setup_runner.sh: install docker.io first" >&2; exit 2; }
if [ "$gpu" = 1 ]; then
  command -v nvidia-ctk >/dev/null || {
    echo "setup_runner.sh: --gpu needs the NVIDIA container toolkit (nvidia-ctk)" >&2; exit 2; }
  nvidia-ctk runtime configure --runtime=docker >/dev/null
  systemctl restart docker
fi

# 1. the user jobs run as; docker group membership is root-equivalent: this machine
#    must serve gitramp only (SELF_HOSTED.md, "What a compromised submission could reach").
id "$user" >/dev/null 2>&1 || useradd --system --create-home --home-dir "$home" \
  --shell /usr/sbin/nologin "$user"
usermod -aG docker "$user"
chown -R "$user:" "$runner_dir"

# 2. gitramp in its own environment, on the jobs' PATH (the workflows use it when present)
python3 -m venv "$home/venv"
"$home/venv/bin/pip" install --quiet --upgrade pip
"$home/venv/bin/pip" install --quiet "$spec"

# 3. the scoring image, built without a registry with the installed recipe (runners/IMAGE.md)
"$home/venv/bin/gitramp" image build

# 4. hidden data readable, private ledger writable by the runner user only
mkdir -p "$private" "${data_dir%%\{challenge\}*}"
chown -R "$user:" "$private"
chmod 0700 "$private"

# 5. the environment of every job on this runner (the runner reads its .env file)
cat > "$runner_dir/.env" <<ENV
PATH=$home/venv/bin:/usr/local/bin:/usr/bin:/bin
GITRAMP_DATA_DIR=$data_dir
GITRAMP_PRIVATE_LEDGER=$private
ENV
chown "$user:" "$runner_dir/.env"

# 6. registration settings, read by the root-only pre-start step
labels="self-hosted,linux,x64,gitramp"
[ "$gpu" = 1 ] && labels="$labels,gpu"
if [ -n "$org" ]; then endpoint="orgs/$org"; else endpoint="repos/$repo"; fi
install -d -m 0700 /etc/gitramp
cat > /etc/gitramp/runner.conf <<CONF
ENDPOINT=$endpoint
GROUP_ID=$group_id
LABELS=$labels
RUNNER_DIR=$runner_dir
RUNNER_USER=$user
API_URL=${GITHUB_API_URL:-https://api.github.com}
CONF
[ -f /etc/gitramp/registration-token ] || {
  echo "setup_runner.sh: now put the registration token in /etc/gitramp/registration-token" \
       "(chmod 600), then: systemctl start gitramp-runner" >&2; }

here="$(cd "$(dirname "$0")" && pwd)"
install -m 0755 "$here/systemd/gitramp-runner-prepare" /usr/local/sbin/gitramp-runner-prepare
install -m 0644 "$here/systemd/gitramp-runner.service" /etc/systemd/system/gitramp-runner.service
systemctl daemon-reload
systemctl enable gitramp-runner.service
echo "gitramp runner set up: labels $labels; start it with: systemctl start gitramp-runner"
