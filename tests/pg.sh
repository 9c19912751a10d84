# tests/pg.sh -- a throwaway PostgreSQL 15 for one test (POSIX sh).
# Source it after lib.sh and call pg_start: it makes a cluster in its own
# folder (initdb as user postgres, no systemd), starts it on a free port
# of 127.0.0.1 and a UNIX socket in that folder, with fsync off, and
# sets the trap to stop it (pg_ctl -m immediate) before lib.sh's cleanup.
# Skips (77) where there is no PostgreSQL 15 or no root to run it as
# postgres.  After pg_start:
#   PG_PORT, PG_SOCK     where it listens
#   PG_ADMIN_URL         superuser postgres over the socket (trust), to
#                        the maintenance database "postgres"
#   PG_USER, PG_PASSWORD a role that must give its password (scram) over
#                        TCP, owner of the databases pg_createdb makes
# pg_createdb NAME makes a database; pg_sql DB SQL runs SQL in it as the
# superuser and prints the rows unaligned.
: "${PG_BIN:=/usr/lib/postgresql/15/bin}"
PG_USER=broadside
PG_PASSWORD="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

pg_stop() {
	if [ -n "${PGT:-}" ] && [ -f "$PGT/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGT/data" \
		    -m immediate stop >/dev/null 2>&1
	fi
	[ -n "${PGT:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$PGT"
}

pg_start() {
	[ -x "$PG_BIN/initdb" ] || {
		echo "skip: no PostgreSQL 15 in $PG_BIN (scripts/deps installs postgresql-15)"
		exit 77
	}
	[ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 || {
		echo "skip: starting a throwaway PostgreSQL needs root and the postgres user"
		exit 77
	}
	PGT=$(mktemp -d /tmp/broadside-pg.XXXXXX)
	trap 'pg_stop; cleanup' EXIT
	chown postgres "$PGT"
	PG_SOCK=$PGT
	PG_PORT=$(free_port)
	printf '%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" > "$PGT/pwfile"
	chown postgres "$PGT/pwfile"
	runuser -u postgres -- "$PG_BIN/initdb" -N -D "$PGT/data" -U postgres \
	    -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 \
	    --pwfile="$PGT/pwfile" >"$PGT/initdb.log" 2>&1 ||
	    { cat "$PGT/initdb.log" >&2; fail "initdb"; }
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGT/data" -w -t 60 \
	    -l "$PGT/server.log" -o "-p $PG_PORT -k $PGT \
	    -c listen_addresses=127.0.0.1 -c fsync=off" start \
	    >"$PGT/pg_ctl.log" 2>&1 ||
	    { cat "$PGT/pg_ctl.log" "$PGT/server.log" >&2; fail "pg_ctl start"; }
	PG_ADMIN_URL="postgresql://postgres@:$PG_PORT/postgres?host=$PGT"
	pg_sql postgres "CREATE ROLE $PG_USER LOGIN PASSWORD '$PG_PASSWORD'" \
	    >/dev/null || fail "create role $PG_USER"
}

pg_sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" \
	    -U postgres -d "$1" -c "$2"
}

pg_createdb() {
	pg_sql postgres "CREATE DATABASE $1 OWNER $PG_USER" >/dev/null ||
	    fail "create database $1"
}
