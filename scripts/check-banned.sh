#!/usr/bin/env bash
# check-banned.sh - refuse functions that invite overflows or silent
# truncation (as curl's checksrc): use snprintf, memcpy with checked
# lengths, and the bounded parsers in src/encoding instead.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|gets|atoi|atol|atoll|strtok|alloca|realloc)[[:space:]]*\('
if hits=$(grep -rnE "$pattern" src cmd include --include='*.[ch]'); then
  echo "banned functions in use:"
  echo "$hits"
  exit 1
fi
echo "check-banned: clean"
