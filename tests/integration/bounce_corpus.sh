#!/bin/sh
# The returned-message parser (bounce.c) against Mailman's flufl.bounce
# (Debian's python3-flufl.bounce) over the corpus of real bounces it ships
# (about 115 messages from many MTAs).  Every message with a
# delivery-status part (RFC 3464) must give the same failed and delayed
# addresses as flufl.bounce's all_failures(), whose first detector is the
# DSN one (a delivery-status part without any recipient block is no
# report: we read none, and flufl.bounce's text heuristics are listed);
# the rest (qmail, Yahoo, Exchange and other plain-text
# formats) must give no recipient at all, since only a DSN is believed.
# Prints which of those flufl's heuristics recognise, for the record.
set -u
TOP=${TOP:-$(pwd)}
BUILD=${BUILD:-build}
PY=/usr/bin/python3
bin="$TOP/$BUILD/tests/bounce_test"
[ -x "$bin" ] || { echo "bounce_test not built: $bin"; exit 1; }
data=$("$PY" -c 'import flufl.bounce, os; print(os.path.join(os.path.dirname(flufl.bounce.__file__), "tests", "data"))') ||
    { echo "python3-flufl.bounce missing (scripts/deps installs it)"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM
"$bin" --print "$data"/*.txt > "$out/ours.json" || { echo "bounce_test --print failed"; exit 1; }
"$PY" - "$out/ours.json" <<'PYEOF'
import email, json, sys
from email import policy
from email.iterators import typed_subpart_iterator
from flufl.bounce import all_failures
from flufl.bounce._detectors.dsn import DSN

ours = [json.loads(l) for l in open(sys.argv[1])]
dsn = agree = plain = 0
bad = []
heuristic = []
empty = []
for o in ours:
    name = o["file"].rsplit("/", 1)[-1]
    with open(o["file"], "rb") as f:
        msg = email.message_from_binary_file(f, policy=policy.compat32)
    has_ds = any(True for _ in typed_subpart_iterator(msg, "message", "delivery-status"))
    failed = {r["addr"] for r in o["rcpts"] if r["action"].startswith(("fail", "error"))}
    delayed = {r["addr"] for r in o["rcpts"] if r["action"].startswith("delayed")}
    t, p = all_failures(msg)
    t = {a.decode() if isinstance(a, bytes) else a for a in t}
    p = {a.decode() if isinstance(a, bytes) else a for a in p}
    if has_ds and DSN().process(msg) == (set(), set()):
        # a delivery-status part without a recipient block: not a report
        # anyone can act on (flufl.bounce reads the text around it)
        empty.append(name)
        if o["rcpts"]:
            bad.append("%s: no recipient block, yet recipients %s" % (name, o["rcpts"]))
    elif has_ds:
        dsn += 1
        if (failed, delayed) == (p, t):
            agree += 1
        else:
            bad.append("%s: ours failed=%s delayed=%s, flufl failed=%s delayed=%s"
                       % (name, sorted(failed), sorted(delayed), sorted(p), sorted(t)))
    else:
        plain += 1
        if o["rcpts"]:
            bad.append("%s: no delivery-status part, yet recipients %s" % (name, o["rcpts"]))
        if p or t:
            heuristic.append(name)
print("messages with a delivery-status part: %d, agreeing with flufl.bounce: %d" % (dsn, agree))
print("delivery-status parts without a recipient block (we read none; flufl.bounce's text heuristics do): %s"
      % " ".join(empty))
print("without one: %d, of which flufl.bounce's heuristics read %d (we ignore them): %s"
      % (plain, len(heuristic), " ".join(heuristic)))
for b in bad:
    print("DISAGREE " + b)
if dsn < 15:
    print("expected at least 15 DSNs in the corpus, got %d" % dsn)
    sys.exit(1)
sys.exit(1 if bad else 0)
PYEOF
