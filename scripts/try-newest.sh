#!/usr/bin/env bash
# See the next breakage coming: install the newest versions our ranges allow
# (requirements-dev.in, not the lock) in a throwaway virtual environment, run the suite on
# SQLite, and report known vulnerabilities (pip-audit, report only) in the lock and in the
# newest set. Nothing in the repository changes; refreshing the locks stays a decision:
#   uv pip compile --universal --generate-hashes --python-version 3.11 requirements.in -o requirements.txt
#   uv pip compile --universal --generate-hashes --python-version 3.11 requirements-dev.in -o requirements-dev.txt
# Usage: scripts/try-newest.sh [python executable, default python3.11] [pytest arguments...]
set -uo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3.11}
shift || true
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$python" -m venv "$venv"
# shellcheck disable=SC1091
source "$venv/bin/activate"
pip install -q --upgrade -r requirements-dev.in pip-audit || exit 1

echo "== what moved: newest allowed versions that differ from the lock =="
python - <<'PY'
import re
from importlib.metadata import distributions

from packaging.markers import Marker

locked = {}
for name, version, marker in re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)(?: ; ([^\\]+))?", open("requirements-dev.txt").read(), re.M):
    if not marker or Marker(marker.strip()).evaluate():
        locked[name.lower().replace("_", "-")] = version
for dist in sorted(distributions(), key=lambda d: d.metadata["Name"].lower()):
    name = dist.metadata["Name"].lower().replace("_", "-")
    if name in locked and locked[name] != dist.version:
        print(f"  {name}: {locked[name]} -> {dist.version}")
PY

echo "== tests with the newest versions (SQLite) =="
python -m pytest -q -p no:cacheprovider "$@"
tests=$?

# pip-audit asks PyPI's JSON API (or OSV) about each package; where only PyPI's simple
# index is reachable, every package is skipped and pip-audit still says "No known
# vulnerabilities found": count the skips and say plainly what was not audited.
audit() {
  local output skipped
  output=$(pip-audit --progress-spinner off "$@" 2>&1)
  skipped=$(grep -c "could not be audited" <<<"$output")
  grep -v "could not be audited" <<<"$output"
  if [ "$skipped" -gt 0 ]; then
    echo "NOT AUDITED: $skipped packages (no vulnerability service reachable from here)"
  fi
}
echo "== pip-audit: the lock =="
audit --disable-pip -r requirements-dev.txt --require-hashes
echo "== pip-audit: the newest versions (this environment) =="
audit --local

echo "== tests: $([ $tests -eq 0 ] && echo passed || echo FAILED) with the newest versions =="
exit $tests
