#!/bin/sh
# The RSS feed of 3 items (one holding "]]>", one with a non-ASCII title)
# parses in feedparser with bozo 0, newest first, right titles, links,
# dates and atom self link.
set -u
: "${TOP:=$(pwd)}" "${BUILD:=build}" "${PY:=/usr/bin/python3}"
T="$TOP/$BUILD/tests/render_test"
[ -x "$T" ] || { echo "no $T"; exit 1; }
$PY -c 'import feedparser' 2>/dev/null || { echo "python3-feedparser missing"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
cd "$TOP" || exit 1
FEED_OUT="$dir/feed.xml" "$T" || { echo "render_test FEED_OUT failed"; exit 1; }
ls "$dir" | grep -q tmp && { echo "temporary file left behind"; exit 1; }
$PY "$TOP/tests/py/check_feed.py" "$dir/feed.xml"
