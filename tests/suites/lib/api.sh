# tests/suites/lib/api.sh - curl helpers for suites that drive the host API.
# Sourced after suite.sh; $H is the host's base URL (set by the suite).
#   call METHOD PATH TOKEN [BODY [HEADER...]]  status in $tmp/status, body in
#                                              $tmp/r.json, headers in $tmp/r.hdr
#   expect STATUS CODE WHAT   the status, and for errors the code and that
#                             X-Request-Id matches the body's request_id
#   expect_msg TEXT WHAT      the error message contains TEXT
#   expect_hidden LOG TEXT WHAT  the error message is the code's fixed sentence,
#                             without TEXT, an ARN or an account id, and the
#                             host's LOG has TEXT under the body's request_id
#   sqlite_rows DB            "accounts signatures idempotency" row counts of
#                             the host's SQLite database
# CURL_EXTRA holds extra curl options (e.g. --cacert for a TLS host).
CURL_EXTRA=()
req() {
  local m=$1 p=$2 t=$3 body=${4-} args=()
  shift 3
  [ $# -gt 0 ] && shift
  [ -n "$t" ] && args+=(-H "Authorization: Bearer $t")
  if [ -n "$body" ]; then
    printf '%s' "$body" >"$tmp/body"
    args+=(-H 'Content-Type: application/json' --data-binary "@$tmp/body")
  fi
  for h in "$@"; do args+=(-H "$h"); done
  curl -sS --max-time 30 "${CURL_EXTRA[@]}" -X "$m" -o "$tmp/r.json" -D "$tmp/r.hdr" -w '%{http_code}' \
    "${args[@]}" "$H$p"
}
call() { req "$@" >"$tmp/status" || echo 000 >"$tmp/status"; }
expect() {
  local got rid
  got=$(cat "$tmp/status")
  [ "$got" = "$1" ] || fail "$3: status $got, want $1: $(cat "$tmp/r.json")"
  if [ -n "$2" ]; then
    [ "$(jget "$tmp/r.json" 'j["error"]["code"]')" = "$2" ] || fail "$3: $(cat "$tmp/r.json")"
    rid=$(jget "$tmp/r.json" 'j["error"]["request_id"]')
    grep -qi "^x-request-id: $rid" "$tmp/r.hdr" || fail "$3: X-Request-Id does not match the body's request_id"
  fi
  pass "$3 -> $1 $(head -c 200 "$tmp/r.json")"
}
expect_msg() {
  jget "$tmp/r.json" 'j["error"]["message"]' | grep -F -- "$1" >/dev/null || fail "$2: message lacks '$1': $(cat "$tmp/r.json")"
}
expect_hidden() {
  local msg rid
  msg=$(jget "$tmp/r.json" 'j["error"]["message"]')
  rid=$(jget "$tmp/r.json" 'j["error"]["request_id"]')
  grep -F -- "details in the host log under this request_id" <<<"$msg" >/dev/null ||
    fail "$3: not the fixed message: $(cat "$tmp/r.json")"
  if grep -F -- "$2" <<<"$msg" >/dev/null || grep -E 'arn:|(^|[^0-9])[0-9]{12}([^0-9]|$)' <<<"$msg" >/dev/null; then
    fail "$3: the client saw the detail: $(cat "$tmp/r.json")"
  fi
  grep -F -- "nitrowallet-host: $rid: " "$1" | grep -F -- "$2" >/dev/null ||
    fail "$3: the host log lacks '$2' under $rid: $(grep -F -- "$rid" "$1" | head -c 400)"
}
sqlite_rows() {
  py -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=30); print(*c.execute("select (select count(*) from AccountTable), (select count(*) from SignedValueTable), (select count(*) from IdempotencyTable)").fetchone())' "$1"
}
