# make install DESTDIR=... PREFIX=/usr: exactly the expected tree with the
# right modes; the unit and the example config name the installed paths; the
# installed programs run from the tree with the installed example config
# (only its /var, /run and /usr/share paths moved into the temp folder):
# config check, start, control socket, HTTP, offline preview with the
# installed templates, reload, stop.  A second install keeps an edited
# /etc/broadside/broadside.conf.  PREFIX=/usr/local rewrites the paths.
. "$(dirname "$0")/../lib.sh"

R="$T/root"
# a private build tree: the binaries are built for this PREFIX
inst() {
	make -s -C "$TOP" -j4 install BUILD="$T/build" OPT=-O0 "$@" \
	    >"$T/make.out" 2>&1 || { cat "$T/make.out" >&2; fail "make install $*"; }
}
inst DESTDIR="$R" PREFIX=/usr
ok "make install DESTDIR PREFIX=/usr"

# --- the tree -------------------------------------------------------------
{
	echo "etc/broadside/broadside.conf 644"
	echo "lib/systemd/system/broadside.service 644"
	echo "usr/bin/broadside 755"
	echo "usr/sbin/broadsided 755"
	echo "usr/share/broadside/broadside.conf.example 644"
	echo "usr/share/broadside/statement.example.txt 644"
	echo "usr/share/broadside/subscribers.example.csv 644"
	for f in "$TOP"/templates/*; do
		echo "usr/share/broadside/templates/$(basename "$f") 644"
	done
	echo "usr/share/man/man1/broadside.1 644"
	echo "usr/share/man/man5/broadside.conf.5 644"
	echo "usr/share/man/man8/broadsided.8 644"
} | LC_ALL=C sort > "$T/want"
(cd "$R" && find . -type f -printf '%P %m\n' | LC_ALL=C sort) > "$T/got"
diff -u "$T/want" "$T/got" >&2 || fail "installed tree differs (- expected, + installed)"
ok "installed tree: $(wc -l < "$T/got") files with the expected modes"

for f in "$TOP"/templates/*; do
	cmp -s "$f" "$R/usr/share/broadside/templates/$(basename "$f")" ||
	    fail "template $(basename "$f") differs"
done
cmp -s "$TOP/etc/broadside.conf" "$R/etc/broadside/broadside.conf" ||
    fail "with PREFIX=/usr the example config is installed unchanged"
grep -qx 'ExecStart=/usr/sbin/broadsided' "$R/lib/systemd/system/broadside.service" ||
    fail "unit ExecStart: $(grep ExecStart= "$R/lib/systemd/system/broadside.service")"
grep -qx 'ExecReload=/usr/bin/broadside reload' "$R/lib/systemd/system/broadside.service" ||
    fail "unit ExecReload: $(grep ExecReload= "$R/lib/systemd/system/broadside.service")"
ok "unit and example config name /usr paths"

# --- the installed programs run with the installed example config ---------
HTTP_PORT=$(free_port)
mkdir -p "$T/var/lib/broadside" "$T/run/broadside"
sed -e "s|\"/var/lib/broadside/|\"$T/var/lib/broadside/|g" \
    -e "s|\"/run/broadside/|\"$T/run/broadside/|g" \
    -e "s|\"/usr/share/broadside/|\"$R/usr/share/broadside/|g" \
    -e "s|127.0.0.1:8080|127.0.0.1:$HTTP_PORT|" \
    "$R/etc/broadside/broadside.conf" > "$T/broadside.conf"
# only paths and the port changed: every other line is the installed one
[ "$(diff "$R/etc/broadside/broadside.conf" "$T/broadside.conf" | grep -c '^>')" -le 6 ] ||
    fail "more than paths changed in the config"
BD="$R/usr/sbin/broadsided"
BC="$R/usr/bin/broadside"
export BROADSIDE_CONFIG="$T/broadside.conf"

expect_rc 0 "$BD" -t
grep -q "configuration OK" "$T/err" || { cat "$T/err" >&2; fail "broadsided -t"; }
"$BD" >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS="$PIDS $DAEMON_PID"
i=0
while ! "$BC" status >/dev/null 2>&1; do
	kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/daemon.log" >&2; fail "installed daemon died"; }
	i=$((i + 1)); [ $i -lt 100 ] || fail "installed daemon did not answer"
	sleep 0.1
done
[ -S "$T/run/broadside/control.sock" ] || fail "no control socket at the packaged path"
[ -f "$T/var/lib/broadside/broadside.db" ] || fail "no store at the packaged path"
[ "$(stat -c %a "$T/var/lib/broadside/secret")" = 600 ] || fail "secret not created 0600"
expect_rc 0 "$BC" subscribers import "$R/usr/share/broadside/subscribers.example.csv"
[ "$("$BC" subscribers count)" -gt 0 ] || fail "installed sample subscribers not imported"
"$PY" - "$HTTP_PORT" <<'EOF' || fail "HTTP listener of the installed daemon"
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=5) as r:
    assert r.status == 200, r.status
EOF
ok "installed daemon runs from the tree: store, secret, control socket, HTTP"

printf 'Title: Ferries resume – “calm seas”…\n\nThe harbour café reopens at nine.\n' > "$T/st.txt"
"$BC" preview "$T/st.txt" --part html >"$T/preview.html" 2>"$T/err" ||
    { cat "$T/err" >&2; fail "preview with the installed templates"; }
grep -q 'harbour café' "$T/preview.html" || fail "preview lacks the statement text"
expect_rc 0 "$BC" reload
grep -q 'reload: done' "$T/daemon.log" || fail "reload not logged"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"; rc=$?
[ $rc -eq 0 ] || { cat "$T/daemon.log" >&2; fail "exit $rc after SIGTERM"; }
ok "installed CLI: import, preview with installed templates, reload; daemon stops 0"

# --- a second install keeps an edited config ------------------------------
printf '# edited by the operator\n' >> "$R/etc/broadside/broadside.conf"
cp "$R/etc/broadside/broadside.conf" "$T/edited.conf"
printf 'stale\n' > "$R/usr/share/broadside/broadside.conf.example"
inst DESTDIR="$R" PREFIX=/usr
cmp -s "$T/edited.conf" "$R/etc/broadside/broadside.conf" ||
    fail "make install overwrote an existing broadside.conf"
cmp -s "$TOP/etc/broadside.conf" "$R/usr/share/broadside/broadside.conf.example" ||
    fail "the example config was not refreshed"
ok "reinstall keeps /etc/broadside/broadside.conf, refreshes the example"

# --- PREFIX=/usr/local ----------------------------------------------------
L="$T/local"
inst DESTDIR="$L" PREFIX=/usr/local
[ -x "$L/usr/local/sbin/broadsided" ] && [ -x "$L/usr/local/bin/broadside" ] ||
    fail "PREFIX=/usr/local: programs not in /usr/local"
grep -qx 'ExecStart=/usr/local/sbin/broadsided' "$L/lib/systemd/system/broadside.service" ||
    fail "PREFIX=/usr/local: unit ExecStart not rewritten"
grep -qx 'ExecReload=/usr/local/bin/broadside reload' "$L/lib/systemd/system/broadside.service" ||
    fail "PREFIX=/usr/local: unit ExecReload not rewritten"
grep -q 'dir = "/usr/local/share/broadside/templates"' "$L/etc/broadside/broadside.conf" ||
    fail "PREFIX=/usr/local: config templates.dir not rewritten"
[ -f "$L/usr/local/share/man/man8/broadsided.8" ] || fail "PREFIX=/usr/local: man pages"
grep -q '/usr/local/share/broadside/templates' "$L/usr/local/share/man/man5/broadside.conf.5" ||
    fail "PREFIX=/usr/local: man page paths not rewritten"
ok "PREFIX=/usr/local: unit, config and man pages name /usr/local"
