# doc/broadside.1, doc/broadsided.8, doc/broadside.conf.5: lint-clean under
# `mandoc -Tlint` (only "referenced manual not found", which depends on the
# machine's installed pages, is let through, and only for pages not ours);
# broadside(1) has every command of `broadside --help` and nothing else,
# each command's own --help names the same words; broadsided(8) has every
# option of broadsided's usage; broadside.conf(5) documents exactly the keys
# of the config table in daemon/lib/config.c, each under its section.
. "$(dirname "$0")/../lib.sh"

command -v mandoc >/dev/null ||
    { echo "mandoc missing (Debian package mandoc)"; exit 77; }
D="$TOP/doc"

for page in broadside.1 broadsided.8 broadside.conf.5; do
	mandoc -Tlint "$D/$page" >"$T/lint" 2>&1
	# our own pages are not installed here; other missing pages depend
	# on the machine; a stale system mandoc.db is not about our page
	grep -v -e 'STYLE: referenced manual not found: Xr \(broadside\|broadsided\|broadside.conf\|sd_notify\|sd-daemon\) [1358]' \
	    -e 'outdated mandoc.db' "$T/lint" > "$T/lint.left"
	[ -s "$T/lint.left" ] && { cat "$T/lint.left" >&2; fail "mandoc -Tlint $page"; }
	ok "mandoc -Tlint $page"
done

# render a page as plain text
render() { mandoc -Tascii -Owidth=300 "$D/$1" | sed 's/.\x08//g'; }

"$BROADSIDE" --help > "$T/help" 2>&1 || fail "broadside --help exited $?"
render broadside.1 > "$T/man1.txt"
"$PY" - "$T/help" "$T/man1.txt" "$BROADSIDE" <<'EOF' || fail "broadside(1) and --help disagree"
import re, subprocess, sys
help_text, man_text, prog = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]

def words(s):
    """Lower-case words of a usage, without brackets, bars and ellipses."""
    s = re.sub(r"[\[\]|]|\.\.\.", " ", s)
    return [w.lower() for w in s.split() if w not in ("-c", "config")]

# command names from --help: "  subscribers add ADDR ..." -> "subscribers add"
body = help_text.split("commands:", 1)[1].split("\n\n", 1)[0]
names = []
for line in body.splitlines():
    t = line.split()
    if t:
        names.append(t[:2] if t[0] in ("subscribers", "store") else t[:1])
if len(names) < 5:
    print("could not read the commands of --help:\n" + help_text); sys.exit(1)

syn = man_text.split("SYNOPSIS", 1)[1].split("DESCRIPTION", 1)[0]
syn_lines = [" ".join(l.split()) for l in re.split(r"\n(?=\s*broadside )", syn)]
bad = 0
for name in names:
    r = subprocess.run([prog] + name + ["--help"], capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip().splitlines()
    if r.returncode != 0 or len(out) < 2 or not out[0].startswith("usage: broadside "):
        print("broadside %s --help: exit %d, %r" % (" ".join(name), r.returncode, out)); bad = 1
        continue
    usage = out[0][len("usage: broadside "):]
    # the overview line of --help starts with the same usage
    if not re.search(r"^\s+" + re.escape(usage) + r"(\s|$)", body, re.M):
        print("--help and 'broadside %s --help' differ: %r" % (" ".join(name), usage)); bad = 1
    w = words(usage)
    if not any(all(x in words(l) for x in w) for l in syn_lines):
        print("broadside(1) SYNOPSIS lacks: %s" % usage); bad = 1
    if not re.search(r"^\s+" + re.escape(" ".join(name)) + r"\b", man_text.split("DESCRIPTION", 1)[1], re.M):
        print("broadside(1) does not describe: %s" % " ".join(name)); bad = 1
# and no command in the page that the program lacks
known = {" ".join(n) for n in names}
for l in syn_lines[1:]:
    w = words(l)
    if len(w) < 2 or w[0] != "broadside" or w[1].startswith("-") or w[1] == "command":
        continue
    w = w[1:]
    cands = [w[0] + " " + w[1]] if w[0] in ("subscribers", "store") else [w[0]]
    if w[0] == "pause":
        cands = ["pause", "resume", "cancel"]
    for nm in cands:
        if nm not in known:
            print("broadside(1) documents %r, which --help does not list" % nm); bad = 1
print("%d commands checked" % len(names))
sys.exit(bad)
EOF
ok "broadside(1) matches broadside --help and each COMMAND --help"

# broadsided(8): every option letter of the usage line
"$BROADSIDED" -h > "$T/dusage" 2>&1
grep -q '^usage: broadsided' "$T/dusage" || fail "broadsided -h: $(cat "$T/dusage")"
opts=$(sed -n 's/^usage: broadsided //p' "$T/dusage" | tr -d '[]' | tr ' ' '\n' |
    sed -n 's/^-\([a-zA-Z]*\)$/\1/p' | fold -w1 | sort -u)
[ -n "$opts" ] || fail "no options in: $(cat "$T/dusage")"
for o in $opts; do
	grep -q "^\.It Fl $o\( \|$\)" "$D/broadsided.8" || fail "broadsided(8) lacks -$o"
done
ok "broadsided(8) documents $(echo $opts | tr -d ' ' | sed 's/./-& /g')"

# broadside.conf(5): exactly the keys of the config table, each under
# its section ("top level" for keys without one)
"$PY" - "$TOP/daemon/lib/config.c" "$D/broadside.conf.5" <<'EOF' || fail "broadside.conf(5) and config.c disagree"
import re, sys
src, man = open(sys.argv[1]).read(), open(sys.argv[2]).read()
table = src.split("config_keys[] = {", 1)[1].split("};", 1)[0]
keys = {("" if g == "NULL" else g.strip('"')) + "." + k
        for g, k in re.findall(r'\{\s*(NULL|"\w+"),\s*"(\w+)"', table)}
doc, sec = set(), None
for line in man.splitlines():
    m = re.match(r"\.Ss (.*)", line)
    if m:
        sec = "" if m.group(1) == "top level" else m.group(1)
    m = re.match(r"\.It Ic (\w+)", line)
    if m and sec is not None:
        doc.add(sec + "." + m.group(1))
    if line.startswith(".Sh") and not line.startswith(".Sh DESCRIPTION"):
        sec = None
bad = 0
for k in sorted(keys - doc):
    print("undocumented key: %s" % k.lstrip(".")); bad = 1
for k in sorted(doc - keys):
    print("documented but not a key: %s" % k.lstrip(".")); bad = 1
print("%d keys" % len(keys))
sys.exit(bad)
EOF
ok "broadside.conf(5) documents every config key"
