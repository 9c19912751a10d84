#!/usr/bin/python3
"""latency_probe.py -- run a command while probing both listeners.

  latency_probe.py [--limit-ms N] [--every-ms N] [--healthz-503-ok]
                   CONTROL_SOCKET HTTP_PORT CMD [ARG...]

Runs CMD; meanwhile asks GET /v1/status on the control socket and
GET /healthz on the public listener in turn, every N ms (10), and times
each answer.  Prints one line per endpoint (requests, worst answer,
statuses seen, when the slowest answers came) and one summary line (how
long CMD took, how many requests, the worst answer).  Exits 1 unless CMD
exited 0, every answer had an allowed status (200; with --healthz-503-ok
a 503 from /healthz too, which says the store does not take writes, true
while another process holds its lock), there were at least 10 requests,
and the worst answer took under --limit-ms (150) and under a quarter of
CMD's time: a main loop that did CMD's work in one go would have kept a
request waiting for most of it.  With CMD `sleep S` it checks the loop
while the daemon does its own work (send_control.sh).
"""
import collections
import socket
import subprocess
import sys
import threading
import time

args = sys.argv[1:]
limit, every, h503 = 0.150, 0.010, False
while args and args[0].startswith("--"):
    if args[0] == "--limit-ms":
        limit = float(args[1]) / 1000
        args = args[2:]
    elif args[0] == "--every-ms":
        every = float(args[1]) / 1000
        args = args[2:]
    elif args[0] == "--healthz-503-ok":
        h503 = True
        args = args[1:]
    else:
        sys.exit("latency_probe: unknown option %s" % args[0])
sock, port, cmd = args[0], int(args[1]), args[2:]
ALLOWED = {"control": {200}, "healthz": {200, 503} if h503 else {200}}


def ask(i):
    if i % 2:
        name = "control"
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(sock)
        s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
    else:
        name = "healthz"
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    try:
        code = int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        code = 0
    return name, code


lat = collections.defaultdict(list)
when = collections.defaultdict(list)
start = time.monotonic()
codes = collections.defaultdict(collections.Counter)
bad, done = [], threading.Event()


def probe():
    i = 0
    while not done.is_set():
        t0 = time.monotonic()
        try:
            name, code = ask(i)
        except OSError as e:
            name, code = ("control" if i % 2 else "healthz"), 0
            bad.append(str(e))
        lat[name].append(time.monotonic() - t0)
        when[name].append(t0 - start)
        codes[name][code] += 1
        if code not in ALLOWED[name]:
            bad.append("%s: %d" % (name, code))
        i += 1
        time.sleep(every)


t = threading.Thread(target=probe)
t.start()
t0 = time.monotonic()
rc = subprocess.call(cmd, stdout=subprocess.DEVNULL)
took = time.monotonic() - t0
done.set()
t.join()
worst = 0.0
for name in sorted(lat):
    w = max(lat[name])
    worst = max(worst, w)
    slow = sorted(zip(lat[name], when[name]), reverse=True)[:3]
    print("%s: %d requests in %.2f s, worst %.1f ms, statuses %s; "
          "slowest at %s" % (name, len(lat[name]), took, w * 1000,
                             dict(codes[name]), ", ".join(
                                 "%.2f s: %.1f ms" % (b, a * 1000)
                                 for a, b in slow)))
n = sum(len(v) for v in lat.values())
print("%s took %.2f s; %d requests meanwhile, worst %.1f ms" %
      (" ".join(cmd[-2:]), took, n, worst * 1000))
ok = True
for cond, msg in ((rc == 0, "command exit %d" % rc),
                  (not bad, "answers not allowed: %r" % bad[:3]),
                  (worst < limit and worst < took / 4,
                   "worst answer %.1f ms (limit %.0f ms, and a quarter of "
                   "the command's time) during %.2f s" % (worst * 1000,
                                                          limit * 1000, took)),
                  (n >= 10, "only %d requests" % n)):
    if not cond:
        print("FAIL: " + msg, file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
