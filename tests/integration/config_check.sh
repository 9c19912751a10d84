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

# password_file is read by the daemon (not by -t) and never printed
write_config 'smtp: { username = "u"; password_file = "pw"; };'
printf 'hunter2-secret\n' > "$T/pw"
expect_rc 0 "$BROADSIDED" -t -c "$T/broadside.conf"
rm "$T/pw"
"$BROADSIDED" -c "$T/broadside.conf" >"$T/out" 2>"$T/err"
[ $? -eq 78 ] || fail "missing password file not a config error"
grep -q "smtp.password_file" "$T/err" || fail "password file error not named"
ok "password_file checked at start"
