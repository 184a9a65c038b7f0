#!/usr/bin/env bash
# host_api_dynamodb.sh BUILD_DIR - the whole host API suite (host_api.sh)
# once more, with nitrowallet-host on the DynamoDB backend (--storage
# dynamodb --create-tables) against dynalite on loopback instead of SQLite.
# Every check is the same; item counts come from botocore.
STORAGE=dynamodb SUITE=host_api_dynamodb exec bash "$(dirname "$0")/host_api.sh" "$@"
