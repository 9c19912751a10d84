# resend.sh (`broadside resend`, issue 12 §5) with the store on a
# throwaway PostgreSQL 15 (tests/pg.sh; skipped without root or
# PostgreSQL 15): the resend's slices come from the original's
# deliveries there too.
RESEND_PG=1 exec sh "$(dirname "$0")/resend.sh"
