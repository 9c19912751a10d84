# The store's unit tests (store_test, store_claim_test) again, on a
# throwaway PostgreSQL 15 (tests/pg.sh): every check they make of the
# SQLite backend, made of the PostgreSQL one, each test in a database
# of its own.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/pg.sh"
pg_start
for t in store_test store_claim_test; do
	[ -x "$TOP/$BUILD/tests/$t" ] || fail "no $BUILD/tests/$t (make first)"
	STORE_URL=$PG_ADMIN_URL STORE_CLAIM_ROWS=${STORE_CLAIM_ROWS:-200000} \
	    "$TOP/$BUILD/tests/$t" > "$T/$t.out" 2>&1
	rc=$?
	cat "$T/$t.out"
	[ $rc -eq 0 ] || fail "$t on PostgreSQL"
	ok "$t on PostgreSQL"
done
