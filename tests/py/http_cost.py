#!/usr/bin/python3
"""http_cost.py -- main-loop CPU time per request of broadside's public
endpoints.

  http_cost.py PORT DAEMON_PID N [--limit-ms MS] NAME=TARGET[|HEADER: VALUE]...

For each NAME=TARGET, sends N GET requests on one keep-alive connection
and reads the daemon's main-thread CPU time (utime + stime, fields 14 and
15 of /proc/PID/task/PID/stat; the main thread's TID is the PID) before
and after.  That is CPU time, not wall time: it does not grow when the
machine is busy with other work, so a bound on it holds on a loaded
machine.  The clock ticks at 100 Hz, so N requests are timed to
10 ms / N.  Prints one line per endpoint (microseconds of main-loop CPU
per request, and the status seen); with --limit-ms, exits 1 if any
endpoint costs that much or more per request, or answered an unexpected
status (anything but 200, and 304 for a conditional request).
"""
import http.client
import os
import sys


def cpu_ticks(pid):
    with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return int(fields[11]) + int(fields[12])


def main():
    args = sys.argv[1:]
    port, pid, n = int(args[0]), int(args[1]), int(args[2])
    limit = None
    rest = args[3:]
    if rest[:1] == ["--limit-ms"]:
        limit = float(rest[1])
        rest = rest[2:]
    hz = os.sysconf("SC_CLK_TCK")
    bad = 0
    for spec in rest:
        name, target = spec.split("=", 1)
        headers = {}
        if "|" in target:
            target, h = target.split("|", 1)
            k, v = h.split(":", 1)
            headers[k.strip()] = v.strip()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # one request first: the connection is made and any cache filled
        c.request("GET", target, headers=headers)
        r = c.getresponse()
        r.read()
        want = 304 if "If-None-Match" in headers else 200
        codes = set()
        t0 = cpu_ticks(pid)
        done = 0
        while done < n:
            c.request("GET", target, headers=headers)
            r = c.getresponse()
            r.read()
            codes.add(r.status)
            done += 1
            # over the whole budget already: no need to wait for the rest
            if limit is not None and done % 10 == 0 and \
                    (cpu_ticks(pid) - t0) / hz > 2 * limit / 1000 * n:
                break
        t1 = cpu_ticks(pid)
        c.close()
        us = (t1 - t0) * 1e6 / hz / done
        n_done = done
        verdict = ""
        if codes != {want}:
            verdict = "  FAIL: status %s, want %d" % (sorted(codes), want)
            bad = 1
        elif limit is not None and us >= limit * 1000:
            verdict = "  FAIL: %.0f us >= %.0f us" % (us, limit * 1000)
            bad = 1
        print("%-22s %8.0f us main-loop CPU per request (%d requests, "
              "%d ticks)%s" % (name, us, n_done, t1 - t0, verdict),
              flush=True)
    return bad


if __name__ == "__main__":
    sys.exit(main())
