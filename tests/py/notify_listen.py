#!/usr/bin/python3
"""notify_listen.py -- stand in for systemd's end of NOTIFY_SOCKET.

  notify_listen.py listen SOCKET LOG [--probe-unix PATH] [--probe-tcp H:P]
      Binds an AF_UNIX datagram socket at SOCKET (as the service manager
      does), asks the kernel for the sender's credentials, and appends one
      JSON line per datagram to LOG:
        {"n": 0, "t": <CLOCK_MONOTONIC seconds>, "pid": 1234,
         "fields": {"READY": "1", "STATUS": "..."}, "raw": "..."}
      When a datagram carries READY=1, the listener at once tries to
      connect to --probe-unix (a stream socket path) and --probe-tcp, and
      records the outcome in the same line as "probe": {"unix": true,
      "tcp": true}: a READY sent before the listeners accept shows false.
      Runs until SIGTERM (exit 0).

  notify_listen.py wait LOG KEY[=VALUE] [--after N] [--timeout S]
      Waits until a message numbered above N (default -1) has the field
      KEY (with VALUE if given) and prints that message's JSON line.
      Exit 1 on timeout, printing what was received.

  notify_listen.py watchdog LOG --interval S [--min-pings K]
      Checks the WATCHDOG=1 pings: at least K of them, and every gap
      between two pings within 0.6*S .. 1.5*S.  Prints the gaps.
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import time


def parse_fields(raw):
    fields = {}
    for line in raw.split("\n"):
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            fields.setdefault("_malformed", []).append(line)
            continue
        fields[key] = value
    return fields


def probe_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def probe_tcp(hostport):
    host, _, port = hostport.rpartition(":")
    try:
        s = socket.create_connection((host, int(port)), timeout=1)
        s.close()
        return True
    except OSError:
        return False


def cmd_listen(args):
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(args.socket)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log = open(args.log, "a", buffering=1)
    n = 0
    ucred = struct.calcsize("3i")
    while True:
        data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(ucred))
        t = time.monotonic()
        pid = None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", cdata[:ucred])[0]
        raw = data.decode("utf-8", "replace")
        rec = {"n": n, "t": t, "pid": pid, "fields": parse_fields(raw),
               "raw": raw}
        if rec["fields"].get("READY") == "1":
            probe = {}
            if args.probe_unix:
                probe["unix"] = probe_unix(args.probe_unix)
            if args.probe_tcp:
                probe["tcp"] = probe_tcp(args.probe_tcp)
            rec["probe"] = probe
        log.write(json.dumps(rec, sort_keys=True) + "\n")
        n += 1


def read_log(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                if line.endswith("\n"):
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def cmd_wait(args):
    key, sep, value = args.what.partition("=")
    deadline = time.monotonic() + args.timeout
    while True:
        for rec in read_log(args.log):
            if rec["n"] <= args.after or key not in rec["fields"]:
                continue
            if sep and rec["fields"][key] != value:
                continue
            print(json.dumps(rec, sort_keys=True))
            return 0
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    print("timed out waiting for %s after message %d; received:"
          % (args.what, args.after), file=sys.stderr)
    for rec in read_log(args.log):
        print("  %d %.3f %r" % (rec["n"], rec["t"], rec["raw"]),
              file=sys.stderr)
    return 1


def cmd_watchdog(args):
    times = [r["t"] for r in read_log(args.log)
             if r["fields"].get("WATCHDOG") == "1"]
    gaps = [b - a for a, b in zip(times, times[1:])]
    print("pings=%d gaps=%s" % (len(times),
                                " ".join("%.3f" % g for g in gaps)))
    if len(times) < args.min_pings:
        print("want at least %d pings" % args.min_pings, file=sys.stderr)
        return 1
    bad = [g for g in gaps
           if g < 0.6 * args.interval or g > 1.5 * args.interval]
    if bad:
        print("gaps outside %.3f..%.3f s: %s"
              % (0.6 * args.interval, 1.5 * args.interval, bad),
              file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("listen")
    p.add_argument("socket")
    p.add_argument("log")
    p.add_argument("--probe-unix")
    p.add_argument("--probe-tcp")
    p = sub.add_parser("wait")
    p.add_argument("log")
    p.add_argument("what")
    p.add_argument("--after", type=int, default=-1)
    p.add_argument("--timeout", type=float, default=10)
    p = sub.add_parser("watchdog")
    p.add_argument("log")
    p.add_argument("--interval", type=float, required=True)
    p.add_argument("--min-pings", type=int, default=3)
    args = ap.parse_args()
    return {"listen": cmd_listen, "wait": cmd_wait,
            "watchdog": cmd_watchdog}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
