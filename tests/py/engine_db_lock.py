#!/usr/bin/python3
"""engine_db_lock.py -- hold a SQLite database's write lock for a while.

  engine_db_lock.py DB SECONDS [READY_FILE]

Opens DB as another process would (a backup, the sqlite3 shell), takes
the write lock with BEGIN IMMEDIATE (waiting up to 10 s for it), writes
READY_FILE if given, holds the lock for SECONDS, then rolls back: nothing
in the database changes.  Prints how long it waited and held the lock.
Exits 0, or 1 if it could not take the lock.
"""
import os
import sqlite3
import sys
import time

db, secs = sys.argv[1], float(sys.argv[2])
ready = sys.argv[3] if len(sys.argv) > 3 else None
t0 = time.monotonic()
con = sqlite3.connect(db, timeout=10, isolation_level=None)
try:
    con.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError as e:
    print("engine_db_lock: cannot lock %s: %s" % (db, e), file=sys.stderr)
    sys.exit(1)
t1 = time.monotonic()
if ready:
    with open(ready + ".tmp", "w") as f:
        f.write("%f\n" % time.time())
    os.rename(ready + ".tmp", ready)
time.sleep(secs)
con.execute("ROLLBACK")
con.close()
print("engine_db_lock: waited %.3f s for the lock, held it %.3f s" %
      (t1 - t0, time.monotonic() - t1), file=sys.stderr)
