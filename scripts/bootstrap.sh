#!/usr/bin/env bash
# bootstrap.sh - install what nitrowallet needs to build and test, and nothing
# when it is all present.  Called first by `make test`, `make asan`, `make run`.
#
# Debian packages come from apt-get (as root, or through sudo); the npm
# packages used as test oracles (ethers, ...) come from tests/oracle's
# committed package.json and lockfile via `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian 12 package names.  Each line: package [command-or-file that proves it].
DEB_PACKAGES=(
  build-essential
  pkg-config
  clang
  libclang-rt-14-dev
  libsecp256k1-dev
  libssl-dev
  libcjson-dev
  libcmocka-dev
  libsqlite3-dev
  libmicrohttpd-dev
  libcurl4-openssl-dev
  openssl
  curl
  python3
  python3-botocore
  python3-cryptography
  awscli
  nodejs
  npm
)

have_pkg() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  case "$p" in
    # A machine may carry its own Node.js/npm outside dpkg; accept that one.
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  have_pkg "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm oracles: reinstall only when the lockfile changed since the last install.
oracle=tests/oracle
stamp="$oracle/node_modules/.nitrowallet-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$oracle/package-lock.json" "$stamp"; then
  echo "bootstrap: installing npm test oracles ($oracle)"
  (cd "$oracle" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$oracle/package-lock.json" "$stamp"
fi
