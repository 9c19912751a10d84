# tests/private-store.sh -- source instead of lib.sh for a test that
# needs its own filesystem: the test re-runs itself in a private mount
# namespace (nothing reaches the host's mount table), then gets lib.sh and
# a 16 MB tmpfs at $T/store.  Skips (77) where that is not permitted.
# The caller sets its own EXIT trap that unmounts $T/store.
if [ -z "${BROADSIDE_FAULT_NS:-}" ]; then
	if ! unshare --mount --propagation private true 2>/dev/null; then
		echo "skip: cannot make a private mount namespace (unshare --mount needs root)"
		exit 77
	fi
	BROADSIDE_FAULT_NS=1 exec unshare --mount --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"

mkdir "$T/store"
if ! mount -t tmpfs -o size=16m,mode=0700 broadside-test "$T/store" 2>"$T/err"; then
	echo "skip: cannot mount a tmpfs: $(cat "$T/err")"
	exit 77
fi
