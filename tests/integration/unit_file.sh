# etc/broadside.service: `systemd-analyze verify` clean (including its
# man: references, resolved against our man pages), `systemd-analyze
# security --offline=true` exposure 2.0 or less, the contract's settings
# present, and every path the packaged config writes to lies in a
# directory the sandbox leaves writable (StateDirectory=/RuntimeDirectory=).
# Needs no running systemd; skips only without systemd-analyze.
. "$(dirname "$0")/../lib.sh"

SA=$(command -v systemd-analyze) ||
    { echo "systemd-analyze missing (Debian package systemd)"; exit 77; }
UNIT="$TOP/etc/broadside.service"

# the unit as installed, with the programs of this build (verify checks
# that ExecStart= and ExecReload= name executables)
mkdir -p "$T/unit" "$T/man/man1" "$T/man/man5" "$T/man/man8"
sed -e "s|/usr/sbin/broadsided|$BROADSIDED|" -e "s|/usr/bin/broadside|$BROADSIDE|" \
    "$UNIT" > "$T/unit/broadside.service"
cp "$TOP/doc/broadside.1" "$T/man/man1/"
cp "$TOP/doc/broadside.conf.5" "$T/man/man5/"
cp "$TOP/doc/broadsided.8" "$T/man/man8/"

# verify: any message is a failure (it prints nothing on a clean unit)
(cd "$T" && MANPATH="$T/man" SYSTEMD_LOG_LEVEL=notice "$SA" verify \
    "$T/unit/broadside.service") >"$T/verify.out" 2>&1
rc=$?
if [ $rc -ne 0 ] || [ -s "$T/verify.out" ]; then
	cat "$T/verify.out" >&2
	fail "systemd-analyze verify (exit $rc)"
fi
ok "systemd-analyze verify: clean, man pages found"

(cd "$T" && "$SA" security --offline=true --no-pager "$T/unit/broadside.service") \
    >"$T/security.out" 2>&1
score=$(sed -n 's/.*Overall exposure level for broadside.service: \([0-9.]*\).*/\1/p' "$T/security.out")
[ -n "$score" ] || { cat "$T/security.out" >&2; fail "no exposure score"; }
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 2.0 else 1)' "$score" ||
    { grep '✗' "$T/security.out" >&2; fail "exposure $score > 2.0"; }
# and systemd's own threshold agrees (exposure x 10)
(cd "$T" && "$SA" security --offline=true --threshold=20 --no-pager \
    "$T/unit/broadside.service") >/dev/null 2>&1 ||
    fail "systemd-analyze security --threshold=20 failed"
ok "systemd-analyze security --offline=true: exposure $score"

# the contract's settings
for want in 'Type=notify' 'WatchdogSec=' 'Restart=on-failure' 'ExecReload=' \
    'DynamicUser=yes' 'StateDirectory=broadside' 'RuntimeDirectory=broadside' \
    'ConfigurationDirectory=broadside' 'NoNewPrivileges=yes' \
    'ProtectSystem=strict' 'PrivateTmp=yes' 'PrivateDevices=yes' \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    'SystemCallFilter=@system-service' 'UMask=0077'; do
	grep -q "^$want" "$UNIT" || fail "unit lacks $want"
done
ok "unit has the required settings"

# what the packaged config writes must be writable under
# ProtectSystem=strict, i.e. inside /var/lib/broadside or /run/broadside
state=$(sed -n 's/^StateDirectory=//p' "$UNIT")
runtime=$(sed -n 's/^RuntimeDirectory=//p' "$UNIT")
"$PY" - "$TOP/etc/broadside.conf" "/var/lib/$state/" "/run/$runtime/" <<'EOF' ||
import re, sys
conf, state, run = sys.argv[1:]
text = re.sub(r"#.*", "", open(conf).read())
bad = 0
for key in ("storage.path", "control.socket", "feed.path", "secret_file"):
    if "." in key:
        g, k = key.split(".")
        m = re.search(g + r"\s*:\s*\{[^}]*\b" + k + r'\s*=\s*"([^"]*)"', text)
    else:
        m = re.search(r"^\s*" + key + r'\s*=\s*"([^"]*)"', text, re.M)
    if not m:
        print("%s: not set in %s" % (key, conf)); bad = 1; continue
    if not m.group(1).startswith((state, run)):
        print("%s = %s: outside %s and %s, read-only in the sandbox"
              % (key, m.group(1), state, run)); bad = 1
sys.exit(bad)
EOF
    fail "packaged paths not writable under the unit"
ok "packaged writable paths inside StateDirectory/RuntimeDirectory"
