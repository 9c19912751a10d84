#!/usr/bin/python3
"""http_token.py -- make a broadside subscriber token the way daemon/lib/token.c
does, for the HTTP tests: base64url (no padding) of the subscriber id as 8
big-endian octets followed by the first 16 octets of
HMAC-SHA256(key, "broadside-token-v1" NUL purpose NUL id), key being the
raw bytes of secret_file (at most 64, as the daemon reads them).

  http_token.py SECRET_FILE PURPOSE ID
"""
import base64
import hashlib
import hmac
import struct
import sys


def make(key, purpose, sid):
    idb = struct.pack(">Q", sid)
    msg = b"broadside-token-v1\0" + purpose.encode() + b"\0" + idb
    mac = hmac.new(key, msg, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(idb + mac).decode().rstrip("=")


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        key = f.read(64)
    print(make(key, sys.argv[2], int(sys.argv[3])))
