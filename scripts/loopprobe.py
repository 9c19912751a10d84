#!/usr/bin/python3
"""Probe the daemon's main loop: GET /healthz on the public listener,
one request every INTERVAL seconds on a kept-alive connection, until
SIGTERM; then write "worst p99 median count" (milliseconds) to OUTFILE.

/healthz is answered on the loop from memory, so its answer time is the
time the loop took to get to it: what a reader or the control socket
waits while the loop is busy with something else (a commit, a claim, a
slice of an import).

Usage: loopprobe.py HOST:PORT OUTFILE [INTERVAL]   (used by scripts/bench-*)
"""
import http.client
import signal
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
outfile = sys.argv[2]
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.02
lat = []
errors = 0
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
conn = None
while not stop:
    try:
        if conn is None:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
        t = time.monotonic()
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        lat.append(time.monotonic() - t)
        if r.status != 200:
            errors += 1
    except (OSError, http.client.HTTPException):
        errors += 1
        conn = None
        if stop:
            break
    time.sleep(interval)
lat.sort()
with open(outfile, "w") as f:
    if lat:
        f.write("%.1f %.1f %.1f %d %d\n" % (
            1000 * lat[-1], 1000 * lat[int(0.99 * (len(lat) - 1))],
            1000 * lat[len(lat) // 2], len(lat), errors))
    else:
        f.write("- - - 0 %d\n" % errors)
