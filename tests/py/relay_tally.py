#!/usr/bin/python3
"""relay_tally.py -- what several test SMTP servers (tests/smtpd.py) got of
one broadcast, from their log.jsonl files.

  relay_tally.py BID [--after T] NAME=MAILDIR...

prints a JSON object: "per" (accepted messages of broadcast BID by each
NAME), "after" (of those, accepted at or after server time T), "unique"
(recipients who got it from any of them), "duplicates" (copies beyond the
first, across all of them) and "rcpt_refused" (RCPT TO answered 5xx).  The
broadcast is told by the Message-ID the daemon makes: b<BID>.r<SID>.
"""
import collections
import json
import os
import re
import sys

MID = re.compile(r"<?b(\d+)\.r(\d+)\.")


def main():
    args = sys.argv[1:]
    bid = args.pop(0)
    after = None
    if args and args[0] == "--after":
        after = float(args[1])
        args = args[2:]
    per, late, refused = {}, {}, {}
    copies = collections.Counter()
    for spec in args:
        name, maildir = spec.split("=", 1)
        per.setdefault(name, 0)
        late.setdefault(name, 0)
        refused.setdefault(name, 0)
        path = os.path.join(maildir, "log.jsonl")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if rec["ev"] == "rcpt" and rec.get("code", 0) >= 500:
                    refused[name] += 1
                if rec["ev"] != "data" or rec.get("code") != 250:
                    continue
                m = MID.match(rec.get("message_id") or "")
                if m is None or m.group(1) != bid:
                    continue
                per[name] += 1
                if after is not None and rec["t"] >= after:
                    late[name] += 1
                for r in rec["rcpt"]:
                    copies[r] += 1
    json.dump({"per": per, "after": late, "rcpt_refused": refused,
               "unique": len(copies),
               "duplicates": sum(n - 1 for n in copies.values())},
              sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
