# broadsided -t: a good config exits 0; every problem is reported with
# file and line and the exit is 78.
. "$(dirname "$0")/../lib.sh"

write_config
expect_rc 0 "$BROADSIDED" -t -c "$T/broadside.conf"
grep -q "configuration OK" "$T/err" || fail "no OK message"
ok "good config"

# the shipped example parses too
expect_rc 0 "$BROADSIDED" -t -c "$TOP/etc/broadside.conf"
ok "etc/broadside.conf"

cat > "$T/bad.conf" <<'EOC'
list: { from = "Test <list@example.org>"; id = "test.example.org";
        base_url = "https://lists.example.org"; colour = "red"; };
smtp: { connections = 0;
        timeout = "thirty";
        tls = "sometimes"; };
rate: { messages_per_second = -1.0; };
retry: { initial_delay = 600; max_delay = 60; };
bogus: { a = 1; };
stray = 1;
EOC
expect_rc 78 "$BROADSIDED" -t -c "$T/bad.conf"
for want in \
    "bad.conf:2: unknown key \"list.colour\"" \
    "bad.conf:3: smtp.connections: 0 is out of range" \
    "bad.conf:4: smtp.timeout: expected an integer" \
    "bad.conf:6: rate.messages_per_second: -1 is out of range" \
    "bad.conf:8: unknown section \"bogus\"" \
    "bad.conf:9: unknown key \"stray\""; do
	grep -qF "$want" "$T/err" || { cat "$T/err"; fail "missing: $want"; }
done
ok "every problem reported with its line"

# second pass checks (after the types are right)
cat > "$T/bad2.conf" <<'EOC'
list: { from = "Test <not an address>"; id = "test.example.org";
        base_url = "ftp://lists.example.org"; };
smtp: { tls = "sometimes"; };
retry: { initial_delay = 600; max_delay = 60; };
EOC
expect_rc 78 "$BROADSIDED" -t -c "$T/bad2.conf"
for want in "bad2.conf:1: list.from" "bad2.conf:2: list.base_url" \
    "bad2.conf:3: smtp.tls" "bad2.conf:4: retry.max_delay"; do
	grep -qF "$want" "$T/err" || { cat "$T/err"; fail "missing: $want"; }
done
ok "semantic checks"

# pacing (issue 12 section 3): one line per problem
cat > "$T/pacing.conf" <<'EOC'
list: { from = "Test <list@example.org>"; id = "test.example.org";
        base_url = "https://lists.example.org"; };
smtp: { connections = 4; };
pacing: { dns = "localhost:53"; default = 5;
          groups = ( { match = "gmail.com"; rate = 20; connections = 9; },
                     { match = "googlemail.com"; },
                     { match = "not a domain"; },
                     { rate = 3; },
                     { match = "example.org"; rate = -2; colour = 1; } ); };
EOC
expect_rc 78 "$BROADSIDED" -t -c "$T/pacing.conf"
for want in "pacing.conf:4: pacing.dns: \"localhost:53\" is not ADDRESS:PORT" \
    "pacing.conf:5: pacing.groups[1].connections: 9 is more than the relays' 4" \
    "pacing.conf:6: pacing.groups[2].match: \"googlemail.com\" is in the same group as pacing.groups[1]'s \"gmail.com\"" \
    "pacing.conf:7: pacing.groups[3].match: \"not a domain\" is not a domain" \
    "pacing.conf:8: pacing.groups[4].match: missing" \
    "pacing.conf:9: pacing.groups[5].rate: -2 is out of range" \
    "pacing.conf:9: unknown key \"pacing.groups[5].colour\""; do
	grep -qF "$want" "$T/err" || { cat "$T/err"; fail "missing: $want"; }
done
ok "pacing checked, one line per problem"

printf 'list: { from = "x@example.org" \n' > "$T/syntax.conf"
expect_rc 78 "$BROADSIDED" -t -c "$T/syntax.conf"
grep -q "syntax.conf:2:" "$T/err" || { cat "$T/err"; fail "syntax error line"; }
ok "syntax error with line"

printf 'list: { from = "x@example.org"; id = "a.example.org"; base_url = "https://a.example.org"; name = "bad\\nname"; };\n' > "$T/inj.conf"
expect_rc 78 "$BROADSIDED" -t -c "$T/inj.conf"
grep -q "list.name: control character" "$T/err" || { cat "$T/err"; fail "CR/LF accepted in list.name"; }
ok "CR/LF in a header value refused"

expect_rc 78 "$BROADSIDED" -t -c "$T/missing.conf"
grep -q "missing.conf" "$T/err" || fail "missing file not named"
ok "missing file"

# password_file: -t reads it as the start does (then forgets it), so
# whatever would stop the start stops -t too, named by key and line; the
# password itself is never printed
write_config 'smtp: { username = "u";
  password_file = "pw"; };'
PWLINE=9	# the line of password_file in that config
printf 'hunter2-secret\n' > "$T/pw"
expect_rc 0 "$BROADSIDED" -t -c "$T/broadside.conf"
grep -q "hunter2" "$T/out" "$T/err" && fail "password printed"
rm "$T/pw"
expect_rc 78 "$BROADSIDED" -t -c "$T/broadside.conf"
grep -q "broadside.conf:$PWLINE: smtp.password_file: .*pw: No such file" "$T/err" ||
    { cat "$T/err"; fail "-t: missing password file not named with its line"; }
"$BROADSIDED" -c "$T/broadside.conf" >"$T/out" 2>"$T/err"
[ $? -eq 78 ] || fail "missing password file not a config error"
grep -q "smtp.password_file" "$T/err" || fail "password file error not named"
ok "missing password_file: -t and the start both exit 78 naming the key"

# unreadable even for root: a folder, a path under a regular file, a FIFO
# (whose open would block: refused without opening it)
mkdir "$T/pw"
expect_rc 78 "$BROADSIDED" -t -c "$T/broadside.conf"
grep -q "broadside.conf:$PWLINE: smtp.password_file: .*not a regular file" "$T/err" ||
    { cat "$T/err"; fail "-t: a folder as password_file"; }
rmdir "$T/pw"
printf 'x\n' > "$T/plain"
write_config 'smtp: { username = "u";
  password_file = "plain/pw"; };'
expect_rc 78 "$BROADSIDED" -t -c "$T/broadside.conf"
grep -q "broadside.conf:$PWLINE: smtp.password_file: .*Not a directory" "$T/err" ||
    { cat "$T/err"; fail "-t: a path under a regular file"; }
mkfifo "$T/fifo"
write_config 'smtp: { username = "u";
  password_file = "fifo"; };'
timeout 10 "$BROADSIDED" -t -c "$T/broadside.conf" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 78 ] || { cat "$T/err"; fail "-t with a FIFO as password_file: exit $rc, want 78 (124: it blocked)"; }
grep -q "broadside.conf:$PWLINE: smtp.password_file: .*not a regular file" "$T/err" ||
    { cat "$T/err"; fail "-t: a FIFO as password_file"; }
ok "unreadable password_file (folder, under a file, FIFO): -t exits 78 naming key and line"

# AUTH in clear text to a relay off this host is refused (78, at the
# line of smtp.username); STARTTLS, smtps:// or a loopback relay is fine
printf 'hunter2-secret\n' > "$T/pw"
write_config 'smtp: { url = "smtp://mail.example.org:587";
  username = "u"; password_file = "pw"; };'
expect_rc 78 "$BROADSIDED" -t -c "$T/broadside.conf"
grep -q "broadside.conf:9: smtp.username: AUTH would send the password in clear text to mail.example.org" "$T/err" ||
    { cat "$T/err"; fail "clear-text AUTH not refused at smtp.username's line"; }
"$BROADSIDED" -c "$T/broadside.conf" >"$T/out" 2>"$T/err"
[ $? -eq 78 ] || fail "the start took a clear-text AUTH config"
for good in 'url = "smtp://mail.example.org:587"; tls = "starttls";' \
    'url = "smtps://mail.example.org";' 'url = "smtp://127.0.0.1:2525";' \
    'url = "smtp://[::1]:25";' 'url = "smtp://localhost:25"; tls = "none";'; do
	write_config "smtp: { $good
  username = \"u\"; password_file = \"pw\"; };"
	expect_rc 0 "$BROADSIDED" -t -c "$T/broadside.conf"
done
ok "smtp.username without TLS: refused off loopback, accepted on it or with TLS"

# an existing secret_file is checked as the start checks it
write_config
head -c 32 /dev/urandom > "$T/state/secret"
chmod 644 "$T/state/secret"
expect_rc 78 "$BROADSIDED" -t -c "$T/broadside.conf"
grep -q "secret_file: .*readable by others" "$T/err" || { cat "$T/err"; fail "-t: secret mode"; }
chmod 600 "$T/state/secret"
expect_rc 0 "$BROADSIDED" -t -c "$T/broadside.conf"
ok "-t checks an existing secret_file"
