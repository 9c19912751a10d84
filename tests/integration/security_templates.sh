# Templates and partials cannot read files outside the templates folder:
# an override folder holding `{{> ../x}}`, `{{> /etc/passwd}}`, a partial
# named with a NUL-free but odd path, a template or partial that is a
# symlink (absolute or relative) to a file outside: each is refused with a
# line naming the problem, by `preview` and by the daemon at `send`, and
# the outside file's content appears nowhere (output, mail, log).  A
# symlink inside the folder to a file inside it still works.
. "$(dirname "$0")/../lib.sh"

start_smtpd mail
mkdir -p "$T/tpl" "$T/outside"
cp "$TOP"/templates/*.mustache "$T/tpl/"
printf 'OUTSIDE-MARKER-7f3a {{name}}\n' > "$T/outside/leak.mustache"
printf 'OUTSIDE-MARKER-7f3a\n' > "$T/outside/leak"
write_config "smtp: { url = \"smtp://127.0.0.1:$SMTP_PORT\"; timeout = 10; };
retry: { max_attempts = 1; };"
# the override folder replaces the default one given by write_config
sed -i "s|dir = \"$TOP/templates\"|dir = \"tpl\"|" "$T/broadside.conf"
grep -q 'dir = "tpl"' "$T/broadside.conf" || fail "config not rewritten"
cat > "$T/st.txt" <<'EOF'
Title: The orchard – “apples for all”…
Author: Groundskeeper Zoë

Picking starts on Saturday at 9:00; crates are provided – bring gloves.
EOF
ORIG=$T/orig.email.txt
cp "$T/tpl/email.txt.mustache" "$ORIG"

# try WHAT: preview with the current email.txt, expect 78, a line naming
# the problem, and no outside content
try() {
	bs preview "$T/st.txt" --part text --to reader@example.org >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 78 ] || { cat "$T/out" "$T/err"; fail "$1: preview exit $rc, want 78"; }
	grep -q "$2" "$T/err" || { cat "$T/err"; fail "$1: no line saying \"$2\""; }
	[ "$(wc -l < "$T/err")" = 1 ] || { cat "$T/err"; fail "$1: more than one line"; }
	grep -q 'OUTSIDE-MARKER\|root:' "$T/out" "$T/err" && fail "$1: outside file read"
	ok "$1 refused: $(cat "$T/err")"
}
set_email() { rm -f "$T/tpl/email.txt.mustache"; printf '%s\n' "$1" > "$T/tpl/email.txt.mustache"; }

set_email '{{> ../outside/leak}}'; try "partial ../outside/leak" 'bad template name'
set_email '{{> ../../../../../../etc/passwd}}'; try "partial ../../etc/passwd" 'bad template name'
set_email '{{> /etc/passwd}}'; try "partial /etc/passwd" 'bad template name'
set_email "{{> $T/outside/leak}}"; try "partial by absolute path" 'bad template name'
set_email '{{> .hidden}}'; try "partial .hidden" 'bad template name'
set_email '{{=<% %>=}}<%> ../outside/leak%>'; try "partial under changed delimiters" 'bad template name'

# a partial that is a symlink leaving the folder (absolute, then relative)
set_email '{{> inc}}'
ln -s "$T/outside/leak.mustache" "$T/tpl/inc.mustache"
try "partial symlinked outside (absolute)" 'outside the templates folder'
rm "$T/tpl/inc.mustache"; ln -s ../outside/leak.mustache "$T/tpl/inc.mustache"
try "partial symlinked outside (relative)" 'outside the templates folder'
rm "$T/tpl/inc.mustache"; ln -s /etc/passwd "$T/tpl/inc.mustache"
try "partial symlinked to /etc/passwd" 'outside the templates folder'
# a symlink to a symlink that leaves
rm "$T/tpl/inc.mustache"; ln -s "$T/outside/leak.mustache" "$T/tpl/hop.mustache"
ln -s hop.mustache "$T/tpl/inc.mustache"
try "partial through two symlinks" 'outside the templates folder'
rm "$T/tpl/inc.mustache" "$T/tpl/hop.mustache"
# the template itself a symlink leaving the folder
rm -f "$T/tpl/email.txt.mustache"
ln -s "$T/outside/leak.mustache" "$T/tpl/email.txt.mustache"
try "template symlinked outside" 'outside the templates folder'
rm "$T/tpl/email.txt.mustache"; ln -s /etc/passwd "$T/tpl/email.txt.mustache"
try "template symlinked to /etc/passwd" 'outside the templates folder'
# a symlinked subfolder
rm "$T/tpl/email.txt.mustache"; set_email '{{> sub/leak}}'
ln -s "$T/outside" "$T/tpl/sub"
try "partial in a symlinked folder" 'bad template name'
rm "$T/tpl/sub"

# inside the folder, symlinks are fine
cp "$ORIG" "$T/tpl/real-email.mustache"
rm -f "$T/tpl/email.txt.mustache"; ln -s real-email.mustache "$T/tpl/email.txt.mustache"
bs preview "$T/st.txt" --part text --to reader@example.org >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "symlink inside the folder refused"; }
grep -q 'apples for all' "$T/out" || fail "symlinked template did not render"
ok "a symlink inside the folder renders"

# the daemon: a leaking template makes the broadcast fail, nothing leaves
rm "$T/tpl/email.txt.mustache"
ln -s "$T/outside/leak.mustache" "$T/tpl/email.txt.mustache"
start_daemon
bs subscribers add reader@example.org "Reader Zoë" >/dev/null || fail "add"
bs send --wait "$T/st.txt" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -ne 0 ] || fail "send with a leaking template succeeded"
grep -q 'outside the templates folder' "$T/err" "$T/daemon.log" ||
    { cat "$T/err"; tail "$T/daemon.log"; fail "daemon did not say why"; }
[ "$(smtpd_report mail | json_get 'j["accepted"]')" = 0 ] || fail "a message went out"
grep -rq 'OUTSIDE-MARKER' "$T/out" "$T/err" "$T/daemon.log" "$T/mail" "$T/state/feed.xml" 2>/dev/null &&
    fail "outside content reached the output"
ok "daemon refuses the leaking template at send (exit $rc): $(head -n 1 "$T/err")"
# fixed on disk and reloaded: the same daemon sends
rm "$T/tpl/email.txt.mustache"; cp "$ORIG" "$T/tpl/email.txt.mustache"
expect_rc 0 bs reload
expect_rc 0 bs send --wait "$T/st.txt"
[ "$(smtpd_report mail | json_get 'j["accepted"]')" = 1 ] || fail "not sent after the fix"
ok "after the fix and a reload the broadcast goes out"
stop_daemon
