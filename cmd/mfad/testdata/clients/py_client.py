"""Loads credentials with boto3's default chain and prints them as JSON.

botocore logs at DEBUG level to stderr, where the test looks for warnings.
With MFAD_CLIENT_LOOP=N it reads the credentials N times more, as a
long-running program does before each call, to show how often it refreshes.
"""
import json
import logging
import os
import sys

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

import boto3
import botocore

version = "boto3 %s, botocore %s" % (boto3.__version__, botocore.__version__)
creds = boto3.Session().get_credentials()
if creds is None:
    print(json.dumps({"version": version, "error": "Unable to locate credentials"}))
    sys.exit(1)
for _ in range(int(os.environ.get("MFAD_CLIENT_LOOP", "0"))):
    creds.get_frozen_credentials()
frozen = creds.get_frozen_credentials()
expiry = getattr(creds, "_expiry_time", None)
print(json.dumps({
    "version": version,
    "method": creds.method,
    "key": frozen.access_key,
    "secret": frozen.secret_key,
    "token": frozen.token,
    "expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ") if expiry else "",
}))
