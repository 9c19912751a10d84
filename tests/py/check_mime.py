#!/usr/bin/python3
"""Parse every NAME.eml in a folder with Python's email package (policy.default
and policy.strict) and compare it with the inputs in NAME.json written by
tests/unit/mime_test.c: decoded Subject, From/To display names and
addresses, the text body after undoing format=flowed, and the HTML body must
equal the inputs exactly; every line must end in CRLF and be at most 998
octets.  Exit status 0 when every message passes."""
import email
import email.policy
import json
import os
import sys


def unflow(s):
    """RFC 3676, DelSp=no: unstuff, then join soft-broken lines."""
    out = []
    cur = ""
    lines = s.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
        final_nl = True
    else:
        final_nl = False
    for i, line in enumerate(lines):
        if line.startswith(" "):
            line = line[1:]
        cur += line
        if line.endswith(" ") and line != "-- " and i + 1 < len(lines):
            continue
        out.append(cur)
        cur = ""
    text = "\n".join(out)
    return text + "\n" if final_nl else text


def check_raw(name, raw, fail):
    if not raw.endswith(b"\r\n"):
        fail("%s: does not end with CRLF" % name)
    for n, line in enumerate(raw.split(b"\r\n"), 1):
        if b"\n" in line or b"\r" in line:
            fail("%s: line %d: bare CR or LF" % (name, n))
        if len(line) > 998:
            fail("%s: line %d: %d octets" % (name, n, len(line)))
        if n > 1 and any(b >= 0x80 for b in line):
            fail("%s: line %d: 8-bit octet" % (name, n))
    head = raw.split(b"\r\n\r\n", 1)[0]
    for n, line in enumerate(head.split(b"\r\n"), 1):
        if len(line) > 78:
            fail("%s: header line %d over 78: %r" % (name, n, line))


def check_msg(name, msg, want, fail, polname):
    def eq(what, got, exp):
        if got != exp:
            fail("%s [%s]: %s: got %r, want %r" % (name, polname, what, got,
                                                    exp))

    eq("Subject", str(msg["Subject"]), want["subject"])
    to = msg["To"].addresses
    eq("To count", len(to), 1)
    eq("To display name", to[0].display_name, want["to_name"])
    eq("To address", to[0].addr_spec, want["to_addr"])
    frm = msg["From"].addresses
    eq("From display name", frm[0].display_name, want["from_name"])
    for h in ("Subject", "To", "From", "Reply-To", "List-Id",
              "List-Unsubscribe", "Message-ID", "Date"):
        v = msg[h]
        if v is not None and getattr(v, "defects", None):
            fail("%s [%s]: %s defects: %r" % (name, polname, h, v.defects))
    eq("Content-Type", msg.get_content_type(), "multipart/alternative")
    eq("List-Unsubscribe-Post", str(msg["List-Unsubscribe-Post"]),
       "List-Unsubscribe=One-Click")
    eq("MIME-Version", str(msg["MIME-Version"]), "1.0")
    parts = list(msg.iter_parts())
    eq("part count", len(parts), 2)
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    eq("text params", (plain.get_param("charset"),
                       plain.get_param("format")), ("utf-8", "flowed"))
    eq("text cte", plain["Content-Transfer-Encoding"], "quoted-printable")
    eq("html cte", html["Content-Transfer-Encoding"], "quoted-printable")
    text = plain.get_content().replace("\r\n", "\n")
    eq("text body", unflow(text), want["text"].replace("\r\n", "\n"))
    eq("html body", html.get_content().replace("\r\n", "\n"),
       want["html"].replace("\r\n", "\n"))
    for p in [msg] + parts:
        if p.defects:
            fail("%s [%s]: defects %r" % (name, polname, p.defects))


def main():
    folder = sys.argv[1]
    names = sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))
    errors = []
    fail = errors.append
    if not names:
        fail("no messages in %s" % folder)
    for name in names:
        with open(os.path.join(folder, name + ".json"), encoding="utf-8") as f:
            want = json.load(f)
        with open(os.path.join(folder, name + ".eml"), "rb") as f:
            raw = f.read()
        check_raw(name, raw, fail)
        for polname, pol in (("default", email.policy.default),
                             ("strict", email.policy.strict)):
            try:
                msg = email.message_from_bytes(raw, policy=pol)
                check_msg(name, msg, want, fail, polname)
            except Exception as e:  # strict raises on any defect
                fail("%s [%s]: %s: %s" % (name, polname, type(e).__name__, e))
    for e in errors:
        print("FAIL", e)
    print("check_mime: %d messages, %d failures" % (len(names), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
