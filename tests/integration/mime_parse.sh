#!/bin/sh
# Messages built by mime.c (ASCII, quoted, Latin, CJK, Arabic, Hebrew, emoji
# names and titles, and the statement fixture) parse in Python's email
# package with policy.default and policy.strict, and decode to exactly the
# inputs.  mime_test writes them when MIME_OUT is set.
set -u
TOP=${TOP:-$(pwd)}
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
bin="$TOP/$BUILD/tests/mime_test"
if [ ! -x "$bin" ]; then
	echo "mime_test not built: $bin"
	exit 1
fi
if ! "$PY" -c 'import email.policy' 2>/dev/null; then
	echo "no python3 email package"
	exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM
cd "$TOP" || exit 1
if ! MIME_OUT="$out" "$bin" >"$out/unit.log" 2>&1; then
	cat "$out/unit.log"
	exit 1
fi
n=$(ls "$out"/*.eml 2>/dev/null | wc -l)
if [ "$n" -lt 9 ]; then
	echo "expected at least 9 messages, got $n"
	exit 1
fi
"$PY" "$TOP/tests/py/check_mime.py" "$out"
