# layers.sh -- the layers of daemon/ (doc/ARCHITECTURE.md), from the
# #include lines: the library (daemon/lib) includes only its own headers;
# the core (daemon/core) the library's and its own, never evhttp or
# jansson; the front (daemon/front) the library's, the core's and its own;
# the CLI (daemon/cli) the library's and its own.  daemon/broadsided.c
# wires core and front and may include anything.  Every quoted include
# must name a header of daemon/, so a misspelt one is no way around the
# rule.  The checker is first run on a made-up tree with one violation of
# each kind, and must find every one of them.
. "$(dirname "$0")/../lib.sh"

cat > "$T/check.py" <<'PYEOF'
import os, re, sys

LAYERS = ["lib", "core", "front", "cli"]
MAY = {                         # quoted headers: from these folders
    "lib": {"lib"},
    "core": {"lib", "core"},
    "front": {"lib", "core", "front"},
    "cli": {"lib", "cli"},
}
FORBIDDEN = {                   # system headers a layer must not use
    "lib": {"event2/http.h"},
    "core": {"event2/http.h", "jansson.h"},
    "front": set(),
    "cli": {"event2/http.h"},
}

def check(top):
    d = os.path.join(top, "daemon")
    where = {}
    for layer in LAYERS:
        for f in os.listdir(os.path.join(d, layer)):
            if f.endswith(".h"):
                where.setdefault(f, set()).add(layer)
    bad = []
    for layer in LAYERS:
        for f in sorted(os.listdir(os.path.join(d, layer))):
            if not f.endswith((".c", ".h")):
                continue
            path = "daemon/%s/%s" % (layer, f)
            for n, line in enumerate(open(os.path.join(top, path)), 1):
                m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
                if not m:
                    continue
                kind, name = m.groups()
                if kind == "<":
                    if name in FORBIDDEN[layer]:
                        bad.append("%s:%d: %s includes <%s>" %
                            (path, n, layer, name))
                    continue
                homes = where.get(name)
                if not homes:
                    bad.append("%s:%d: \"%s\" is no header of daemon/" %
                        (path, n, name))
                elif not homes & MAY[layer]:
                    bad.append("%s:%d: %s includes %s's \"%s\"" %
                        (path, n, layer, "/".join(sorted(homes)), name))
    return bad

bad = check(sys.argv[1])
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PYEOF

# the checker must see each kind of violation
F="$T/fake"
mkdir -p "$F/daemon/lib" "$F/daemon/core" "$F/daemon/front" "$F/daemon/cli"
printf '#include "buf.h"\n' > "$F/daemon/lib/ok.c"
: > "$F/daemon/lib/buf.h"; : > "$F/daemon/core/core.h"
: > "$F/daemon/front/front.h"; : > "$F/daemon/cli/cli.h"
printf '#include "core.h"\n' > "$F/daemon/lib/up.c"
printf '#include <event2/http.h>\n' > "$F/daemon/core/http.c"
printf '#include <jansson.h>\n' > "$F/daemon/core/json.c"
printf '#include "front.h"\n' > "$F/daemon/core/back.c"
printf '#include "core.h"\n' > "$F/daemon/cli/daemon.c"
printf '#include "cli.h"\n' > "$F/daemon/front/cli.c"
printf '#include "nosuch.h"\n' > "$F/daemon/front/typo.c"
"$PY" "$T/check.py" "$F" > "$T/fake.out" && fail "the checker passed a tree with violations"
for want in 'lib/up.c:1: lib includes core' 'core/http.c:1: core includes <event2/http.h>' \
    'core/json.c:1: core includes <jansson.h>' 'core/back.c:1: core includes front' \
    'cli/daemon.c:1: cli includes core' 'front/cli.c:1: front includes cli' \
    'front/typo.c:1: "nosuch.h" is no header'; do
	grep -q "$want" "$T/fake.out" || { cat "$T/fake.out" >&2; fail "checker missed: $want"; }
done
[ "$(wc -l < "$T/fake.out")" -eq 7 ] || { cat "$T/fake.out" >&2; fail "checker flagged an allowed include"; }
ok "the checker finds each kind of violation, and only those"

"$PY" "$T/check.py" "$TOP" > "$T/real.out" || { cat "$T/real.out" >&2; fail "daemon/ breaks its layers"; }
n=$(cat "$TOP"/daemon/*/*.[ch] | grep -c '^#include')
ok "daemon/ keeps its layers ($n include lines checked)"
