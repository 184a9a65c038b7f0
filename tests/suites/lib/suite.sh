# tests/suites/lib/suite.sh - the frame every scripted suite shares.  Sourced
# by a suite after it has set B (the build directory) and cd'ed to the repo:
#   $tmp              a fresh directory, removed at exit (kept with KEEP_TMP=1)
#   pids              processes to stop at exit (stack_stop: TERM, then wait)
#   suite_on_exit     a function the suite may define, run first at exit
#   fail MESSAGE      prints FAIL, the tail of every $tmp/*.log, exits 1
#   pass MESSAGE      prints "ok: MESSAGE"
#   py ARGS           /usr/bin/python3 (not whatever python3 is first on PATH)
#   jget FILE EXPR    a field of a JSON file: EXPR is Python over `j`
#   suite_aws_env ID  test AWS credentials (random secret), us-east-1, no AWS
#                     config files: the suite's processes see nothing of the
#                     caller's AWS setup
# and scripts/lib/stack.sh with STACK_BIN=$B/bin, its failures going to fail.
tmp=$(mktemp -d)
pids=()
suite_cleanup() {
  if declare -F suite_on_exit >/dev/null; then suite_on_exit || true; fi
  stack_stop "${pids[@]}"
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap suite_cleanup EXIT
fail() {
  local f
  echo "FAIL: $*"
  for f in "$tmp"/*.log; do
    [ -f "$f" ] || continue
    echo "--- ${f##*/}"
    tail -n 30 "$f"
  done
  exit 1
}
pass() { echo "ok: $*"; }
py() { /usr/bin/python3 "$@"; }
jget() {
  py -c 'import json,sys; j=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2"
}
suite_aws_env() {
  export AWS_ACCESS_KEY_ID=AKIDNITROWALLET$1
  AWS_SECRET_ACCESS_KEY=$(echo "$1" | tr 'A-Z' 'a-z')-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export AWS_SECRET_ACCESS_KEY AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  [ -z "${NW_FREESCAN_SECRETS:-}" ] || echo "$AWS_SECRET_ACCESS_KEY" >>"$NW_FREESCAN_SECRETS"
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
  unset AWS_SESSION_TOKEN AWS_PROFILE
}
STACK_BIN=$B/bin
stack_fail() { fail "$@"; }
. scripts/lib/stack.sh
