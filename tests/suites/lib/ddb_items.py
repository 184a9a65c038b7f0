#!/usr/bin/python3
"""ddb_items.py - look into the tables of nitrowallet-host's DynamoDB backend
with botocore (an AWS client we did not write), for the scripted suites.

  ddb_items.py count ENDPOINT PREFIX
      print "(accounts, signed values, idempotency records)", item counts of
      PREFIX+AccountTable, PREFIX+SignedValueTable, PREFIX+IdempotencyTable
      (consistent, paginated Scans), in the form the SQLite suites print
  ddb_items.py get ENDPOINT TABLE NAME
      print the AccountTable item of account NAME as JSON (DynamoDB's
      attribute-value form), or "null"

Credentials and region come from the environment (dynalite checks neither).
"""
import json
import os
import sys

import botocore.session


def client(endpoint):
    s = botocore.session.get_session()
    return s.create_client("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"), endpoint_url=endpoint)


def count(c, table):
    n = 0
    for page in c.get_paginator("scan").paginate(TableName=table, Select="COUNT", ConsistentRead=True):
        n += page["Count"]
    return n


def main(argv):
    if len(argv) == 4 and argv[1] == "count":
        c = client(argv[2])
        print(tuple(count(c, argv[3] + t) for t in ("AccountTable", "SignedValueTable", "IdempotencyTable")))
    elif len(argv) == 5 and argv[1] == "get":
        r = client(argv[2]).get_item(TableName=argv[3], Key={"Name": {"S": argv[4]}}, ConsistentRead=True)
        print(json.dumps(r.get("Item"), sort_keys=True))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
