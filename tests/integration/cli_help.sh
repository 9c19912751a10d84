# Every command and command group prints its own usage, without a config
# or a daemon: `broadside CMD --help`, `broadside GROUP --help` and
# `broadside GROUP SUB --help` exit 0 with the usage on stdout; a group
# without its subcommand, or with an unknown one, exits 64 with the
# group's usage on stderr; a command with wrong arguments exits 64 with
# that command's usage on stderr.  The commands are read from
# `broadside --help`, so a new one is checked too.
. "$(dirname "$0")/../lib.sh"

NOCONF="$T/no-such.conf"	# --help must not need one
b() { "$BROADSIDE" -c "$NOCONF" "$@"; }

expect_rc 0 b --help
grep -q "^commands:" "$T/out" || fail "--help: $(cat "$T/out")"
[ -s "$T/err" ] && fail "--help wrote to stderr: $(cat "$T/err")"
# "  subscribers add ADDR ..." -> "subscribers add"; "  send FILE" -> "send"
sed -n '/^commands:/,/^$/p' "$T/out" | sed -n 's/^  \([a-z]*\)\( \([a-z]*\)\)\{0,1\}.*/\1 \3/p' |
    while read -r a s; do
	{ [ "$a" = subscribers ] || [ "$a" = store ]; } && echo "$a $s" || echo "$a"
done > "$T/cmds"
[ "$(wc -l < "$T/cmds")" -ge 13 ] || fail "commands read from --help: $(cat "$T/cmds")"
grep -qx "subscribers reactivate" "$T/cmds" || fail "--help lacks subscribers reactivate"

n=0
while read -r cmd; do
	for h in --help -h; do
		# shellcheck disable=SC2086
		expect_rc 0 b $cmd $h
		head -n 1 "$T/out" | grep -q "^usage: broadside $cmd\( \|$\)" ||
		    fail "broadside $cmd $h: $(cat "$T/out" "$T/err")"
		[ "$(wc -l < "$T/out")" -ge 2 ] || fail "broadside $cmd $h: no description"
		[ -s "$T/err" ] && fail "broadside $cmd $h wrote to stderr: $(cat "$T/err")"
		grep -q "unknown command" "$T/out" && fail "broadside $cmd $h: unknown"
	done
	n=$((n + 1))
done < "$T/cmds"
ok "$n commands: COMMAND --help and -h print their own usage, exit 0"

# the group: every subcommand listed, on stdout for --help ...
expect_rc 0 b subscribers --help
head -n 1 "$T/out" | grep -q "^usage: broadside .*subscribers COMMAND" || fail "subscribers --help: $(cat "$T/out" "$T/err")"
grep "^subscribers " "$T/cmds" | while read -r g s; do
	grep -q "^  subscribers $s " "$T/out" || fail "subscribers --help lacks $s"
done || exit 1
grep -q "^  send" "$T/out" && fail "subscribers --help lists other commands"
cp "$T/out" "$T/group"
# ... and on stderr, exit 64, when the subcommand is missing or unknown
for args in "subscribers" "subscribers frobnicate"; do
	# shellcheck disable=SC2086
	expect_rc 64 b $args
	[ -s "$T/out" ] && fail "broadside $args wrote to stdout"
	grep -q "unknown command \"subscribers\"$" "$T/err" && fail "broadside $args: $(cat "$T/err")"
	grep -v "^broadside: " "$T/err" | diff -u "$T/group" - || fail "broadside $args: not the group usage"
	grep -q "^broadside: " "$T/err" || fail "broadside $args: no reason line"
done
grep -q 'unknown command "subscribers frobnicate"' "$T/err" || fail "unknown subcommand not named"
ok "subscribers --help (0, stdout); subscribers and subscribers frobnicate (64, stderr, the group's usage)"

# wrong arguments: that command's usage on stderr, exit 64
for args in "send" "send --wait" "pause" "resume x y" "cancel" "preview" \
    "status 1 2" "feed x" "reload x" "subscribers add" "subscribers remove" \
    "subscribers reactivate" "subscribers reactivate a@example.org --bounced-by 1" \
    "subscribers import" "subscribers list x" "subscribers count x"; do
	# shellcheck disable=SC2086
	expect_rc 64 b $args
	cmd=$(echo "$args" | sed 's/^\(subscribers [a-z]*\|[a-z]*\).*/\1/')
	head -n 1 "$T/err" | grep -q "^usage: broadside $cmd\( \|$\)" ||
	    fail "broadside $args: $(cat "$T/err")"
	[ -s "$T/out" ] && fail "broadside $args wrote to stdout"
done
ok "wrong arguments: the command's own usage on stderr, exit 64"

# --help after the arguments too; an unknown top-level command as before
expect_rc 0 b send statement.txt --wait --help
head -n 1 "$T/out" | grep -q "^usage: broadside send FILE" || fail "send FILE --help"
expect_rc 64 b frobnicate
grep -q 'unknown command "frobnicate"' "$T/err" && grep -q "^commands:" "$T/err" || fail "frobnicate: $(cat "$T/err")"
ok "COMMAND ARGS --help; unknown command 64 with the overview"
