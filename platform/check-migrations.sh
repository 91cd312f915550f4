#!/usr/bin/env bash
# Applies every migration, with the pinned Supabase CLI, to a new throwaway cluster that holds
# only what every Supabase project has before its first migration: the roles, `auth`, Vault,
# Storage's schema, the `extensions` schema and the empty `supabase_realtime` publication, with
# pg_cron, pgvector and pg_net available but not enabled. A migration that relies on anything
# only the local platform creates (its chaos knobs, a pre-made `net` schema, seeded Vault
# secrets) fails here. Prints one summary line; the exit status says whether it passed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=platform/pg-env.sh
source "$ROOT/platform/pg-env.sh"
die() { echo "check-migrations: error: $*" >&2; exit 1; }

PG_MAJOR=$(pg_detect_major "$(pg_cluster_home "$ROOT")/pgdata")
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
[[ -x $PG_BIN/initdb ]] || die "PostgreSQL ${PG_MAJOR:-?} is not installed (run ./soulprint platform start once)"
as_pg() { if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=${SOULPRINT_CHECK_DB_PORT:-}
if [[ -z $port ]]; then
  for p in $(shuf -i 20000-29999 -n 50); do port_busy "$p" || { port=$p; break; }; done
fi
[[ -n $port ]] || die "no free port for the throwaway cluster"

work=$(mktemp -d /tmp/soulprint-check-migrations.XXXXXX)
chmod 755 "$work"
[[ $(id -u) -eq 0 ]] && chown postgres "$work"
cleanup() {
  as_pg "$PG_BIN/pg_ctl" -D "$work/pgdata" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
t0=$(date +%s)

as_pg "$PG_BIN/initdb" -D "$work/pgdata" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 \
  || { tail -n 20 "$work/initdb.log" >&2; die "initdb failed"; }
cat >>"$work/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
fsync = off
synchronous_commit = off
log_min_messages = warning
CONF
as_pg "$PG_BIN/pg_ctl" -D "$work/pgdata" -l "$work/postgres.log" -w -t 60 start >/dev/null \
  || { tail -n 20 "$work/postgres.log" >&2; die "the throwaway cluster did not start"; }

url="postgresql://postgres:postgres@127.0.0.1:$port/postgres?sslmode=disable"
psql_() { PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" "$url" -v ON_ERROR_STOP=1 -q -X "$@"; }
# Supabase's own pieces only: 040_net.sql is the local platform's (pg_net conversion, chaos knobs).
for f in "$ROOT"/platform/standins/*.sql; do
  [[ $(basename "$f") == 040_net.sql ]] && continue
  psql_ -f "$f" >/dev/null || die "stand-in $(basename "$f") failed"
done
psql_ -Atc "select 1 from pg_namespace where nspname = 'net'" | grep -q . && die "schema net exists before the migrations"

(cd "$ROOT" && "$ROOT/node_modules/.bin/supabase" db push --db-url "$url" --include-all --yes >"$work/push.log" 2>&1) \
  || { grep -v '^ •' "$work/push.log" | tail -n 15 >&2; die "supabase db push failed on a new cluster with Supabase's defaults only"; }

applied=$(psql_ -Atc "select count(*) from supabase_migrations.schema_migrations")
files=$(find "$ROOT/supabase/migrations" -name '*.sql' | wc -l)
[[ $applied -eq $files ]] || die "$applied of $files migrations applied"
exts=$(psql_ -Atc "select string_agg(extname || '@' || extnamespace::regnamespace, ' ' order by extname) from pg_extension where extname in ('pg_cron', 'pg_net', 'vector')")
[[ $exts == "pg_cron@pg_catalog pg_net@extensions vector@extensions" ]] || die "extensions enabled by the migrations: $exts"
echo "migrations: $applied applied to a new cluster with Supabase's defaults only (PostgreSQL $PG_MAJOR; $exts; $(($(date +%s) - t0)) s)"
