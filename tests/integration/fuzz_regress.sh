#!/bin/sh
# Replay every fuzz seed (tests/fuzz/corpus/NAME) and every past crash
# (tests/fuzz/crashes/NAME) through every fuzz target, built with $CC,
# ASan and UBSan and a file-reading main() (make fuzz-replay), so that
# each bug the fuzzers found stays fixed.  A target rejects nothing: any
# input must run clean through any of them.
set -u
cd "${TOP:-$(dirname "$0")/../..}" || exit 1
BUILD=${BUILD:-build}

make --no-print-directory -s BUILD="$BUILD" fuzz-replay || {
	echo "cannot build the replay programs"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fail=0
for src in tests/fuzz/*_fuzz.c; do
	name=$(basename "$src" _fuzz.c)
	bin="$BUILD/fuzz/${name}_replay"
	# its own inputs first, then everyone else's
	# (a target with no crash yet has no folder in a fresh clone: git
	# keeps no empty folders)
	dirs=
	for d in tests/fuzz/crashes/$name tests/fuzz/corpus/$name \
	    tests/fuzz/crashes/* tests/fuzz/corpus/*; do
		[ -d "$d" ] || continue
		case " $dirs " in *" $d "*) ;; *) dirs="$dirs $d" ;; esac
	done
	if ! "$bin" $dirs >"$BUILD/fuzz/$name.replay.log" 2>&1; then
		echo "FAIL $name: log $BUILD/fuzz/$name.replay.log"
		tail -n 30 "$BUILD/fuzz/$name.replay.log"
		fail=1
	else
		tail -n 1 "$BUILD/fuzz/$name.replay.log"
	fi
done
# the crash folders must not be empty by accident (regressions kept)
n=$(find tests/fuzz/crashes -type f | wc -l)
echo "$n regression files"
[ "$n" -gt 0 ] || fail=1
exit $fail
