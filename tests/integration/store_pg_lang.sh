# send_lang.sh (statements in several languages, issue 14 part 2) with
# the store on a throwaway PostgreSQL 15 (tests/pg.sh; skipped without
# root or PostgreSQL 15): translations stored with the broadcast, the
# subscribers' languages, each version to its readers, the feeds, pages
# and status languages from there too.
LANG_PG=1 exec sh "$(dirname "$0")/send_lang.sh"
