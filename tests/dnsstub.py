#!/usr/bin/python3
"""dnsstub.py -- a stub DNS server for broadside's tests (Debian's
python3-dnslib), on 127.0.0.1, UDP and TCP on one port.

  dnsstub.py --mx DOMAIN=HOST[,TTL] ... [--delay-ms MS] --portfile F
             [--log F]

answers MX queries for each DOMAIN with HOST (preference 10, TTL default
300), NXDOMAIN for any other name; --delay-ms waits before each answer
(a slow resolver); --log appends one line per query ("QNAME QTYPE").
Prints the port; SIGTERM stops it.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time

from dnslib import QTYPE, RCODE, RR, MX
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class StubResolver(BaseResolver):
    def __init__(self, mx, delay, log):
        self.mx = mx
        self.delay = delay
        self.log = log
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        if self.log:
            with self.lock, open(self.log, "a") as f:
                f.write("%s %s %.6f\n" % (qname, qtype, time.time()))
        if self.delay:
            time.sleep(self.delay)
        if qname in self.mx:
            host, ttl = self.mx[qname]
            if qtype == "MX":
                reply.add_answer(RR(qname, QTYPE.MX, ttl=ttl,
                                    rdata=MX(host, 10)))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error,-recv,"
                         "-send,-data", prefix=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mx", action="append", default=[])
    ap.add_argument("--delay-ms", type=float, default=0)
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--log")
    args = ap.parse_args()
    mx = {}
    for spec in args.mx:
        dom, rest = spec.split("=", 1)
        host, _, ttl = rest.partition(",")
        mx[dom.lower()] = (host, int(ttl) if ttl else 300)
    resolver = StubResolver(mx, args.delay_ms / 1000.0, args.log)
    # one port for both: a free UDP port, then TCP on it (again if taken)
    for _ in range(20):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        try:
            udp = DNSServer(resolver, port=port, address="127.0.0.1",
                            logger=QuietLogger())
            tcp = DNSServer(resolver, port=port, address="127.0.0.1",
                            tcp=True, logger=QuietLogger())
            break
        except OSError:
            continue
    else:
        sys.exit("dnsstub.py: no free port")
    udp.start_thread()
    tcp.start_thread()
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.portfile)
    print(port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(1):
        pass
    udp.stop()
    tcp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
