#!/usr/bin/python3
"""site_mail.py -- a link from the mail the test SMTP server stored, for the
site tests: the confirm link of the confirmation mail to ADDR (from its
text part), or the unsubscribe link of a broadcast message to ADDR (its
List-Unsubscribe header).  Prints the URL; exit 1 if no such mail yet.

  site_mail.py MAILDIR ADDR confirm|unsubscribe
"""
import email
import glob
import re
import sys
from email import policy


def find(maildir, addr, what):
    for p in sorted(glob.glob(maildir + "/*.eml")):
        with open(p, "rb") as f:
            m = email.message_from_bytes(f.read(), policy=policy.default)
        if m["To"] is None or m["To"].addresses[0].addr_spec != addr:
            continue
        if what == "unsubscribe" and m["List-Unsubscribe"] is not None:
            return str(m["List-Unsubscribe"]).strip("<>")
        if what == "confirm":
            text = m.get_body(("plain",)).get_content()
            r = re.search(r"https?://\S+/confirm\?t=[A-Za-z0-9_-]+", text)
            if r:
                return r.group(0)
    return None


if __name__ == "__main__":
    url = find(sys.argv[1], sys.argv[2], sys.argv[3])
    if url is None:
        sys.exit(1)
    print(url)
