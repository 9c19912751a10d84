#!/usr/bin/python3
"""http_bigbody.py -- a plain client with an oversized request body.

  http_bigbody.py ADDRESS TARGET LENGTH [--chunk N] [--pause SECONDS]
  http_bigbody.py ADDRESS TARGET LENGTH --flood

ADDRESS is unix:PATH or HOST:PORT.  Sends "POST TARGET" with
Content-Length LENGTH and then the whole body, CHUNK octets at a time
with PAUSE seconds between chunks, the way a simple client (Python's
http.client, a shell script) does it: everything first, the answer after.
Then reads the answer and prints its status code.  Exit 0 with the code;
exit 1 when a write failed (the server closed on us before we were done,
so the answer is lost: curl shows that as "000") or no answer came.

--flood sends LENGTH octets as fast as it can and prints how many went
before the server closed the connection ("cut after N"), exit 0; exit 1 if
all of them went (the server never stopped reading).
"""
import socket
import sys
import time


def connect(address):
    if address.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(address[5:])
    else:
        host, port = address.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(30)
    return s


def main():
    args = sys.argv[1:]
    address, target, length = args[0], args[1], int(args[2])
    chunk, pause, flood = 65536, 0.0, False
    i = 3
    while i < len(args):
        if args[i] == "--chunk":
            chunk = int(args[i + 1])
            i += 2
        elif args[i] == "--pause":
            pause = float(args[i + 1])
            i += 2
        elif args[i] == "--flood":
            flood = True
            i += 1
        else:
            sys.exit("usage: see the docstring")
    s = connect(address)
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n"
            % (target, length)).encode()
    s.sendall(head)
    sent = 0
    block = b"a" * chunk
    try:
        while sent < length:
            n = min(chunk, length - sent)
            s.sendall(block[:n])
            sent += n
            if pause and not flood:
                time.sleep(pause)
    except OSError as e:
        if flood:
            print("cut after %d" % sent)
            return 0
        print("write failed after %d of %d octets: %s" % (sent, length, e))
        return 1
    if flood:
        print("all %d octets went: the server never stopped reading" % sent)
        return 1
    data = b""
    try:
        while b"\r\n" not in data:
            got = s.recv(4096)
            if not got:
                break
            data += got
    except OSError as e:
        print("read failed: %s" % e)
        return 1
    if not data.startswith(b"HTTP/1."):
        print("no answer: %r" % data[:100])
        return 1
    print(int(data.split(b" ", 2)[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
