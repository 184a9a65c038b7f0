#!/usr/bin/env bash
# sigv4_botocore.sh BUILD_DIR - nitrowallet's SigV4 against botocore's
# SigV4Auth (Debian's python3-botocore) over random requests: the
# Authorization header must match byte for byte, botocore's signed request
# must verify, and each mutation of it must be refused with the right kind.
# SIGV4_SEED=N reruns one seed; SIGV4_COUNT=N changes the number of requests.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
tool="$B/tests/sigv4_tool"
if [ ! -x "$tool" ]; then
  echo "sigv4_botocore: $tool is not built"
  exit 1
fi
if ! /usr/bin/python3 -c 'import botocore' 2>/dev/null; then
  echo "sigv4_botocore: Debian's python3-botocore is missing (scripts/bootstrap.sh installs it)"
  exit 1
fi
args=(--tool "$tool" --count "${SIGV4_COUNT:-1000}")
if [ -x /usr/bin/aws ]; then
  args+=(--awscli)
else
  echo "sigv4_botocore: /usr/bin/aws not installed, skipping the awscli capture"
fi
if [ -n "${SIGV4_SEED:-}" ]; then
  args+=(--seed "$SIGV4_SEED")
fi
exec /usr/bin/python3 tests/aws/sigv4_botocore.py "${args[@]}"
