#!/usr/bin/python3
"""bounce_mail.py -- what came back, for broadside's bounce tests.

  bounce_mail.py sent MAILDIR
      one line per message the test SMTP server (smtpd.py) accepted:
      "RCPT BROADCAST SENDER FILE", BROADCAST decoded from the VERP
      token of SENDER (0 when SENDER is no VERP address)
  bounce_mail.py dsn hard|soft|delayed RCPT ORIGINAL
      a delivery status notification (RFC 3464) as Postfix writes one,
      with ORIGINAL's header returned as text/rfc822-headers
  bounce_mail.py arf ORIGINAL [--no-message-id] [--no-unsubscribe]
                               [--forge-message-id]
      a complaint (RFC 5965, Feedback-Type: abuse) returning ORIGINAL
      whole, its recipient redacted as providers do
  bounce_mail.py autoreply
      a vacation auto-reply
"""

import base64
import json
import os
import re
import sys


def sent(maildir):
    sender = {}
    with open(os.path.join(maildir, "log.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            if e["ev"] == "mail":
                sender[e["session"]] = e["sender"]
            elif e["ev"] == "data" and e.get("code") == 250:
                s = sender.get(e["session"], "")
                bid = 0
                m = re.match(r"^b-([a-z2-7]{39})@", s)
                if m:
                    raw = base64.b32decode(m.group(1).upper() + "=")
                    bid = int.from_bytes(raw[:8], "big")
                for r in e["rcpt"]:
                    print(r, bid, s or "<>", e["file"])


def header_block(path):
    data = open(path, "rb").read()
    return data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")


DSN = """\
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: {to}
Subject: {subject}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B1.1700000000/mx.example.net"
Message-Id: <20261205.B1@mx.example.net>

This is a MIME-encapsulated message.

--B1.1700000000/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

{text}

--B1.1700000000/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4ABCDEF
X-Postfix-Sender: rfc822; {to}
Arrival-Date: Sat,  5 Dec 2026 12:00:00 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; provider.example.net
Diagnostic-Code: smtp; {diag}

--B1.1700000000/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{headers}

--B1.1700000000/mx.example.net--
"""

KINDS = {
    "hard": ("failed", "5.1.1", "550 5.1.1 <{rcpt}>: Recipient address "
             "rejected: User unknown", "Undelivered Mail Returned to Sender",
             "I'm sorry to have to inform you that your message could not\n"
             "be delivered to one or more recipients."),
    "soft": ("failed", "4.2.2", "452 4.2.2 <{rcpt}>: mailbox full",
             "Undelivered Mail Returned to Sender",
             "Your message could not be delivered for 5 days."),
    "delayed": ("delayed", "4.4.1", "451 4.4.1 try again later",
                "Delayed Mail (still being retried)",
                "Your message could not be delivered for 4 hours.\n"
                "It will be retried until it is 5 days old."),
}


def dsn(kind, rcpt, original):
    action, status, diag, subject, text = KINDS[kind]
    out = DSN.format(to="list-bounces@example.org", subject=subject,
                     text=text, rcpt=rcpt, action=action, status=status,
                     diag=diag.format(rcpt=rcpt),
                     headers=header_block(original).replace("\r\n", "\n"))
    sys.stdout.write(out.replace("\n", "\r\n"))


ARF = """\
From: <staff@provider.example.net>
To: <fbl@example.org>
Subject: FW: {subject}
Date: Sat, 5 Dec 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Sat, 5 Dec 2026 11:00:00 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <redacted@bounces.example.org>
Original-Rcpt-To: <redacted@provider.example.net>
Arrival-Date: Sat, 5 Dec 2026 11:00:00 +0000
Source-IP: 192.0.2.1

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

{original}
--part1_13d.2e68ed54_boundary--
"""


def arf(original, opts):
    data = open(original, "rb").read().decode("utf-8", "replace")
    head, body = data.split("\r\n\r\n", 1)
    lines = []
    subject = "complaint"
    for line in re.split(r"\r\n(?![ \t])", head):
        name = line.split(":", 1)[0].lower()
        if name == "message-id" and "--no-message-id" in opts:
            continue
        if name == "message-id" and "--forge-message-id" in opts:
            # the same shape, another MAC
            line = re.sub(r"\.([0-9a-f]{8})@",
                          lambda m: "." + ("%08x" % (int(m.group(1), 16) ^ 1))
                          + "@", line)
        if name in ("list-unsubscribe", "list-unsubscribe-post") and \
                "--no-unsubscribe" in opts:
            continue
        if name == "to":
            line = "To: redacted@provider.example.net"
        if name == "subject":
            subject = line.split(":", 1)[1].strip()
        lines.append(line)
    orig = "\r\n".join(lines) + "\r\n\r\n" + body
    out = ARF.replace("\n", "\r\n").format(subject=subject, original=orig)
    sys.stdout.write(out)


AUTOREPLY = """\
From: <someone@provider.example.net>
To: <list@example.org>
Subject: Out of office
Auto-Submitted: auto-replied
X-Autoreply: yes

I am away until Monday.
"""


def main():
    cmd = sys.argv[1]
    if cmd == "sent":
        sent(sys.argv[2])
    elif cmd == "dsn":
        dsn(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "arf":
        arf(sys.argv[2], sys.argv[3:])
    elif cmd == "autoreply":
        sys.stdout.write(AUTOREPLY.replace("\n", "\r\n"))
    else:
        sys.exit("usage: see the header")


if __name__ == "__main__":
    main()
