#!/usr/bin/python3
"""tty_run.py -- run a command with its stderr on a pseudo-terminal.

  tty_run.py OUT CMD [ARG...]

stdin is /dev/null and stdout is inherited; stderr is the slave side of a
new pty, so isatty(2) is true in CMD, as for an operator at a terminal.
Everything CMD writes to it is saved, raw (carriage returns and escape
sequences included), to OUT.  Exits with CMD's exit status.
"""
import os
import select
import subprocess
import sys

out, cmd = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=slave)
os.close(slave)
data = b""
while True:
    r, _, _ = select.select([master], [], [], 0.5)
    if r:
        try:
            b = os.read(master, 65536)
        except OSError:         # EIO: the slave side is closed
            b = b""
        if not b:
            break
        data += b
    elif p.poll() is not None:
        break
rc = p.wait()
os.close(master)
with open(out, "wb") as f:
    f.write(data)
sys.exit(rc)
