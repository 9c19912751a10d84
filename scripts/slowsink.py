#!/usr/bin/python3
"""slowsink.py -- an SMTP sink that answers the final "." after a delay.

For benchmarks: a real MTA syncs its queue file before it answers the end
of the message, a few milliseconds on an SSD; loopback sinks answer at
once and hide how a client behaves with many messages in flight.
Postfix's smtp-sink cannot delay by less than a second, hence this.

Plain asyncio, no parsing beyond what SMTP needs: accepts every sender and
recipient, discards the message, answers "250" to "." after --delay-ms
(default 2).  Offers PIPELINING (smtp-source uses it) and keeps replies in
order.  --workers N forks N processes on one SO_REUSEPORT port.

  slowsink.py [--port 0] [--delay-ms 2] [--workers 1] [--pidfile F]
              [--portfile F]
prints the port; SIGTERM stops it and prints "messages N" on stderr.
"""

import argparse
import asyncio
import os
import signal
import socket
import sys

EHLO = (b"250-slowsink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
        b"250-SIZE 52428800\r\n250 ENHANCEDSTATUSCODES\r\n")


class Sink(asyncio.Protocol):
    delay = 0.002
    messages = 0

    def connection_made(self, transport):
        self.t = transport
        self.buf = bytearray()
        self.in_data = False
        self.scan = 0           # where to resume looking for the end
        self.held = None        # replies waiting behind a delayed one
        self.closing = False
        self.loop = asyncio.get_running_loop()
        transport.set_write_buffer_limits(high=1 << 20)
        self.t.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(b"220 slowsink ESMTP\r\n")

    def reply(self, data):
        if self.held is not None:
            self.held.append(data)
        else:
            self.t.write(data)

    def release(self):
        held, self.held = self.held, None
        if self.t.is_closing():
            return
        self.t.write(b"".join(held))
        if self.closing:
            self.t.close()

    def data_received(self, data):
        buf = self.buf
        buf += data
        pos = 0
        while True:
            if self.in_data:
                if buf.startswith(b".\r\n", pos):
                    end = pos
                else:
                    end = buf.find(b"\r\n.\r\n", max(pos, self.scan))
                    if end < 0:
                        self.scan = max(pos, len(buf) - 4)
                        break
                    end += 2
                pos = end + 3
                self.in_data = False
                self.scan = 0
                Sink.messages += 1
                if self.delay > 0:
                    # hold this and every later reply until the delay ends
                    if self.held is None:
                        self.held = [b"250 2.0.0 Ok: queued\r\n"]
                        self.loop.call_later(self.delay, self.release)
                    else:
                        self.held.append(b"250 2.0.0 Ok: queued\r\n")
                else:
                    self.reply(b"250 2.0.0 Ok: queued\r\n")
                continue
            nl = buf.find(b"\n", pos)
            if nl < 0:
                break
            cmd = bytes(buf[pos:pos + 4]).upper()
            pos = nl + 1
            if cmd in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply(b"250 2.0.0 Ok\r\n")
            elif cmd == b"DATA":
                self.reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                self.in_data = True
                self.scan = pos
            elif cmd == b"EHLO":
                self.reply(EHLO)
            elif cmd == b"HELO":
                self.reply(b"250 slowsink\r\n")
            elif cmd == b"QUIT":
                self.reply(b"221 2.0.0 Bye\r\n")
                if self.held is None:
                    self.t.close()
                else:
                    self.closing = True
                pos = len(buf)
                break
            else:
                self.reply(b"502 5.5.2 Error: command not recognized\r\n")
        del buf[:pos]
        if self.in_data:
            self.scan = max(0, self.scan - pos)


def serve(sock, args):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    Sink.delay = args.delay_ms / 1000.0
    server = loop.run_until_complete(loop.create_server(Sink, sock=sock))
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    loop.run_until_complete(stop)
    server.close()
    sys.stderr.write("messages %d\n" % Sink.messages)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pidfile")
    ap.add_argument("--portfile")
    args = ap.parse_args()

    socks = []
    port = args.port
    for _ in range(max(1, args.workers)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", port))
        port = s.getsockname()[1]
        s.listen(512)
        socks.append(s)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if args.portfile:
        with open(args.portfile + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.portfile + ".tmp", args.portfile)
    print(port, flush=True)

    children = []
    for s in socks[1:]:
        pid = os.fork()
        if pid == 0:
            serve(s, args)
            os._exit(0)
        children.append(pid)
    try:
        serve(socks[0], args)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
