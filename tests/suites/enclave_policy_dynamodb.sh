#!/usr/bin/env bash
# enclave_policy_dynamodb.sh BUILD_DIR - enclave_policy.sh with the host on
# DynamoDB (dynalite on loopback): a policy tampered with in DynamoDB makes
# the account refuse as in SQLite.
STORAGE=dynamodb exec "$(dirname "$0")/enclave_policy.sh" "$@"
