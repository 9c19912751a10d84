#!/usr/bin/python3
"""latency_probe.py -- run a command while probing both listeners.

  latency_probe.py [--limit-ms N] [--every-ms N] CONTROL_SOCKET HTTP_PORT
                   CMD [ARG...]

Runs CMD; meanwhile asks GET /v1/status on the control socket and
GET /healthz on the public listener in turn, every N ms (10), and times
each answer.  Prints one line (how long CMD took, how many requests, the
worst answer).  Exits 1 unless CMD exited 0, every answer was 200, and
the worst answer took under --limit-ms (150) and under a quarter of CMD's
time: a main loop that did CMD's work in one go would have kept a request
waiting for most of it.  With CMD `sleep S` it checks the loop while the
daemon does its own work (send_control.sh).
"""
import socket
import subprocess
import sys
import threading
import time

args = sys.argv[1:]
limit, every = 0.150, 0.010
while args and args[0] in ("--limit-ms", "--every-ms"):
    if args[0] == "--limit-ms":
        limit = float(args[1]) / 1000
    else:
        every = float(args[1]) / 1000
    args = args[2:]
sock, port, cmd = args[0], int(args[1]), args[2:]


def ask(i):
    if i % 2:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
    else:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data


lat, bad, done = [], [], threading.Event()


def probe():
    i = 0
    while not done.is_set():
        t0 = time.monotonic()
        data = ask(i)
        lat.append(time.monotonic() - t0)
        if not data.startswith(b"HTTP/1.1 200"):
            bad.append(data[:60])
        i += 1
        time.sleep(every)


t = threading.Thread(target=probe)
t.start()
t0 = time.monotonic()
rc = subprocess.call(cmd, stdout=subprocess.DEVNULL)
took = time.monotonic() - t0
done.set()
t.join()
worst = max(lat) if lat else took
print("%s took %.2f s; %d requests meanwhile, worst %.1f ms" %
      (" ".join(cmd[-2:]), took, len(lat), worst * 1000))
ok = True
for cond, msg in ((rc == 0, "command exit %d" % rc),
                  (not bad, "answers not 200: %r" % bad[:3]),
                  (worst < limit and worst < took / 4,
                   "worst answer %.1f ms during %.2f s" % (worst * 1000,
                                                          took)),
                  (len(lat) >= 10, "only %d requests" % len(lat))):
    if not cond:
        print("FAIL: " + msg, file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
