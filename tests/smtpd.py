#!/usr/bin/python3
"""smtpd.py -- scriptable SMTP server for broadside's tests (aiosmtpd).

Saves every accepted message in --maildir as NNNNNN.eml and appends one JSON
line per event to --maildir/log.jsonl:
  {"ev": "connect", "session": 3, "peer": "127.0.0.1:40000"}
  {"ev": "ehlo"|"auth"|"mail"|"rcpt"|"data"|"quit"|"close", "session": 3, ...}
"mail", "rcpt" and "data" carry the reply "code"; "mail" and "rcpt" also the
whole "reply" line; "data" also "rcpt" (list), "message_id" and "file" when
accepted.  Every event has "t", the server's clock (time.time()).

Behaviour scripted by the recipient's local part prefix:
  rcpt451-...  451 4.3.0 to RCPT TO    rcpt550-...  550 5.1.1 to RCPT TO
  rcpthint-... "450 4.2.1 <addr>: mailbox busy, please try again in 2 minutes"
  rcptmulti-... the same hint on the first line of a two-line 450 reply
  rcpt422-...  "452 4.2.2 <addr>: mailbox full" to RCPT TO
  rcpt511-...  "550 5.1.1 <addr>: Recipient address rejected: User unknown"
  rcpt571-...  "550 5.7.1 <addr>: Relay access denied" (a relay fault)
  plain550-... "550 no such mailbox" to RCPT TO (no enhanced code)
  data552-...  552 after the final "." data451-...  451 after the final "."
  msg554-...   "554 5.6.0 message content rejected" after the final "."
  slow-...     250 after the final ".", but only after --slow-secs (4)
  drop-...     connection dropped in the middle of the message body
  stall-...    no reply to the final "." for --stall-secs (past the timeout)
and per connection: --connect-421 N (the first N connections get 421 and are
closed), --delay-ms MS (wait before answering the final ".").
Whole-server answers (a misconfigured or refusing relay; the prefixes
above still win for RCPT):
  --rcpt-reply LINE   answer every RCPT TO with LINE, e.g.
                      "550 5.7.1 Relaying denied" (a 2xx LINE accepts)
  --mail-reply LINE   answer every MAIL FROM with LINE, e.g.
                      "530 5.7.0 Authentication required"
  --ehlo-reply LINE   answer EHLO (and HELO) with LINE, e.g.
                      "554 5.7.1 go away"
  --domain-reply "DOMAIN N LINE"
                      answer every Nth RCPT TO at DOMAIN with LINE (N=1:
                      every one), e.g. "gmail.com 3 451 4.7.0 slow down";
                      repeatable, one server acting as several providers
  --quit-hang         never answer QUIT: log a "quit" event ("hang": true)
                      and keep the connection open until the client closes
TLS: --tls-cert/--tls-key offer STARTTLS (--require-tls insists on it;
--smtps makes the port implicit TLS).  AUTH: --auth-user U --auth-pass P
(PLAIN and LOGIN; required for MAIL once set).

  smtpd.py --port 0 --maildir DIR [--pidfile F] [--portfile F] ...
      prints the bound port on stdout; SIGTERM stops it, exit 0.
  smtpd.py --report DIR
      prints a JSON summary of DIR/log.jsonl: sessions, accepted,
      per_rcpt (accepted count per address), duplicates (extra copies).
"""

import argparse
import asyncio
import collections
import json
import os
import re
import signal
import ssl
import sys
import time
import logging
import traceback

from aiosmtpd.smtp import (SMTP, AuthResult, LoginPassword,
                           TLSSetupException, syntax)

MSGID_RE = re.compile(rb"^message-id:[ \t]*(\S+)", re.I | re.M)


class State:
    def __init__(self, args):
        self.args = args
        self.sessions = 0
        self.counter = 0
        self.refuse = args.connect_421
        # domain -> [every, line, count]
        self.domain_reply = {}
        for spec in args.domain_reply or []:
            dom, every, line = spec.split(" ", 2)
            self.domain_reply[dom.lower()] = [int(every), line, 0]
        os.makedirs(args.maildir, exist_ok=True)
        self.log = open(os.path.join(args.maildir, "log.jsonl"), "a",
                        buffering=1)

    def event(self, ev, sid, **kw):
        rec = {"ev": ev, "session": sid, "t": round(time.time(), 6)}
        rec.update(kw)
        self.log.write(json.dumps(rec, sort_keys=True) + "\n")


def local_part(addr):
    return addr.split("@", 1)[0].lower()


def reply_code(line):
    """The 3-digit code a reply line starts with (0 if it has none)."""
    try:
        return int(line[:3])
    except ValueError:
        return 0


# recipient local-part prefix -> RCPT reply ("%s" is the address)
RCPT_PREFIXES = (
    ("rcpt451-", "451 4.3.0 try again later"),
    ("rcpthint-", "450 4.2.1 <%s>: mailbox busy, please try again in 2 minutes"),
    ("rcpt550-", "550 5.1.1 <%s>: no such user"),
    ("rcpt511-", "550 5.1.1 <%s>: Recipient address rejected: User unknown"),
    ("rcpt571-", "550 5.7.1 <%s>: Relay access denied"),
    ("plain550-", "550 no such mailbox"),
    ("rcpt422-", "452 4.2.2 <%s>: mailbox full"),
    # a multi-line reply whose delay sits on its first line only
    ("rcptmulti-", "450-4.2.1 <%s>: please try again in 2 minutes\r\n"
                   "450 4.2.1 mailbox busy"),
)


class Handler:
    def __init__(self, state):
        self.st = state

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        line = self.st.args.ehlo_reply
        if line is not None:
            # refused: no host_name, so MAIL gets "503 need EHLO"
            self.st.event("ehlo", server.sid, name=hostname,
                          tls=session.ssl is not None,
                          code=reply_code(line), reply=line)
            return [line]
        session.host_name = hostname
        self.st.event("ehlo", server.sid, name=hostname,
                      tls=session.ssl is not None)
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        line = self.st.args.ehlo_reply
        if line is not None:
            self.st.event("helo", server.sid, name=hostname,
                          code=reply_code(line), reply=line)
            return line
        session.host_name = hostname
        self.st.event("helo", server.sid, name=hostname, code=250)
        return "250 %s" % server.hostname

    async def handle_MAIL(self, server, session, envelope, address, options):
        line = self.st.args.mail_reply or "250 OK"
        code = reply_code(line)
        if code // 100 == 2:
            envelope.mail_from = address
            envelope.mail_options.extend(options)
        self.st.event("mail", server.sid, sender=address,
                      tls=session.ssl is not None,
                      auth=session.authenticated, code=code, reply=line)
        return line

    async def handle_QUIT(self, server, session, envelope):
        self.st.event("quit", server.sid)
        return "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, options):
        lp = local_part(address)
        reply = self.st.args.rcpt_reply or "250 OK"
        for prefix, line in RCPT_PREFIXES:
            if lp.startswith(prefix):
                reply = line.replace("%s", address)
                break
        dr = self.st.domain_reply.get(address.rsplit("@", 1)[-1].lower())
        if dr is not None:
            dr[2] += 1
            if dr[2] % dr[0] == 0:
                reply = dr[1]
        code = reply_code(reply)
        if code // 100 == 2:
            envelope.rcpt_tos.append(address)
        self.st.event("rcpt", server.sid, rcpt=address, code=code,
                      reply=reply)
        return reply

    async def handle_DATA(self, server, session, envelope):
        st = self.st
        rcpts = list(envelope.rcpt_tos)
        lps = [local_part(r) for r in rcpts]
        body = envelope.original_content or b""
        head = body.split(b"\r\n\r\n", 1)[0]
        m = MSGID_RE.search(head)
        msgid = m.group(1).decode("ascii", "replace") if m else None
        if any(lp.startswith("stall-") for lp in lps):
            st.event("stall", server.sid, rcpt=rcpts, message_id=msgid)
            await asyncio.sleep(st.args.stall_secs)
            return "451 4.4.2 stalled"
        if st.args.delay_ms > 0:
            await asyncio.sleep(st.args.delay_ms / 1000.0)
        if any(lp.startswith("slow-") for lp in lps):
            st.event("slow", server.sid, rcpt=rcpts, message_id=msgid)
            await asyncio.sleep(st.args.slow_secs)
        if any(lp.startswith("data552-") for lp in lps):
            st.event("data", server.sid, rcpt=rcpts, code=552,
                     message_id=msgid)
            return "552 5.3.4 message too big for policy"
        if any(lp.startswith("msg554-") for lp in lps):
            st.event("data", server.sid, rcpt=rcpts, code=554,
                     message_id=msgid)
            return "554 5.6.0 message content rejected"
        if any(lp.startswith("data451-") for lp in lps):
            st.event("data", server.sid, rcpt=rcpts, code=451,
                     message_id=msgid)
            return "451 4.3.0 local error"
        st.counter += 1
        name = "%06d.eml" % st.counter
        with open(os.path.join(st.args.maildir, name), "wb") as f:
            f.write(body)
        st.event("data", server.sid, rcpt=rcpts, code=250, message_id=msgid,
                 file=name, size=len(body))
        return "250 2.0.0 OK queued as %d" % st.counter


class ScriptedSMTP(SMTP):
    def __init__(self, state, *a, **kw):
        super().__init__(*a, **kw)
        self.st = state
        state.sessions += 1
        self.sid = state.sessions
        self.logged_connect = False

    def connection_made(self, transport):
        super().connection_made(transport)
        if not self.logged_connect:
            self.logged_connect = True
            peer = transport.get_extra_info("peername")
            self.st.event("connect", self.sid,
                          peer="%s:%s" % (peer[0], peer[1]) if peer else None)

    def connection_lost(self, error):
        self.st.event("close", self.sid)
        super().connection_lost(error)

    async def handle_exception(self, error):
        # a client that rejects our certificate is what the TLS tests
        # expect: one log event, no traceback
        if isinstance(error, TLSSetupException):
            self.st.event("tls-failed", self.sid)
            return "454 4.7.0 TLS not available"
        traceback.print_exception(error)
        return "500 Error: (%s) %s" % (error.__class__.__name__, error)

    async def _handle_client(self):
        if self.st.refuse > 0:
            self.st.refuse -= 1
            self.st.event("refuse", self.sid, code=421)
            await self.push("421 4.3.2 service not available, try later")
            self.transport.close()
            return
        await super()._handle_client()

    @syntax("QUIT")
    async def smtp_QUIT(self, arg):
        if not self.st.args.quit_hang or arg:
            return await super().smtp_QUIT(arg)
        # --quit-hang: no "221"; wait for the client to give up and
        # close (connection_lost cancels this coroutine)
        self.st.event("quit", self.sid, hang=True)
        while self.transport is not None:
            await asyncio.sleep(3600)

    async def smtp_DATA(self, arg):
        rcpts = self.envelope.rcpt_tos if self.envelope else []
        if (self.session.host_name and rcpts and not arg and
                any(local_part(r).startswith("drop-") for r in rcpts)):
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")   # some of the body
            self.st.event("drop", self.sid, rcpt=list(rcpts))
            self.transport.abort()
            # _handle_client loops while there is a transport: stop it
            # before it reads the rest of the body as commands
            self.transport = None
            return
        await super().smtp_DATA(arg)


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == user.encode() and
              auth_data.password == password.encode())
        server.st.event("auth", server.sid, mechanism=mechanism, ok=ok,
                        login=auth_data.login.decode("utf-8", "replace")
                        if isinstance(auth_data, LoginPassword) else None)
        return AuthResult(success=ok, handled=False)
    return check


def report(maildir):
    sessions = 0
    per_rcpt = collections.Counter()
    refused = 0
    with open(os.path.join(maildir, "log.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec["ev"] == "connect":
                sessions += 1
            elif rec["ev"] == "refuse":
                refused += 1
            elif rec["ev"] == "data" and rec["code"] == 250:
                for r in rec["rcpt"]:
                    per_rcpt[r] += 1
    out = {
        "sessions": sessions,
        "refused": refused,
        "accepted": sum(per_rcpt.values()),
        "unique": len(per_rcpt),
        "duplicates": sum(n - 1 for n in per_rcpt.values()),
        "per_rcpt": dict(sorted(per_rcpt.items())),
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--report", metavar="DIR")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--maildir")
    ap.add_argument("--pidfile")
    ap.add_argument("--portfile")
    ap.add_argument("--connect-421", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=0)
    ap.add_argument("--stall-secs", type=float, default=30)
    ap.add_argument("--slow-secs", type=float, default=4)
    ap.add_argument("--rcpt-reply", metavar="LINE")
    ap.add_argument("--mail-reply", metavar="LINE")
    ap.add_argument("--ehlo-reply", metavar="LINE")
    ap.add_argument("--quit-hang", action="store_true")
    ap.add_argument("--domain-reply", action="append", metavar="SPEC")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--smtps", action="store_true")
    ap.add_argument("--auth-user")
    ap.add_argument("--auth-pass")
    args = ap.parse_args()
    if args.report:
        report(args.report)
        return 0
    if not args.maildir:
        ap.error("--maildir is required")
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    state = State(args)
    ctx = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    kw = {"hostname": "smtpd.test", "enable_SMTPUTF8": True,
          "data_size_limit": 10 * 1024 * 1024}
    if ctx is not None and not args.smtps:
        kw["tls_context"] = ctx
        kw["require_starttls"] = args.require_tls
    if args.auth_user:
        kw["authenticator"] = authenticator(args.auth_user,
                                            args.auth_pass or "")
        kw["auth_required"] = True
        kw["auth_require_tls"] = False

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler(state)
    server = loop.run_until_complete(loop.create_server(
        lambda: ScriptedSMTP(state, handler, loop=loop, **kw),
        "127.0.0.1", args.port,
        ssl=ctx if args.smtps else None))
    port = server.sockets[0].getsockname()[1]
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if args.portfile:
        tmp = args.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.portfile)
    print(port, flush=True)

    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    loop.run_until_complete(stop)
    server.close()
    state.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
