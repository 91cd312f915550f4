#!/usr/bin/env bash
# Local platform (development and tests only): PostgreSQL with pg_cron/pgvector/pgTAP on
# 127.0.0.1:54322, the Supabase stand-ins, migrations through the Supabase CLI, and the edge
# server (functions gateway, Storage API, pg_net worker) on 127.0.0.1:54321.
#   platform.sh start | stop | status | reset
# Idempotent; stops only processes it started (pid files under .platform/run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=$ROOT/.platform
RUN=$STATE/run
LOGS=$STATE/logs
# shellcheck source=platform/pg-env.sh
source "$ROOT/platform/pg-env.sh"
# The cluster's own files (data, socket, server log): in .platform, or under /var/lib/soulprint
# when the checkout is in a home the `postgres` user cannot enter (see pg_cluster_home).
PG_HOME=$(pg_cluster_home "$ROOT")
PGDATA=$PG_HOME/pgdata
if [[ $PG_HOME == "$STATE" ]]; then PG_SOCK=$RUN PG_LOG=$LOGS/postgres.log; else PG_SOCK=$PG_HOME/run PG_LOG=$PG_HOME/postgres.log; fi
DB_PORT=${SOULPRINT_DB_PORT:-54322}
API_PORT=${SOULPRINT_API_PORT:-54321}
# sslmode=disable: the local cluster has no TLS, and the Supabase CLI would otherwise try it first and fail.
DB_URL="postgresql://postgres:postgres@127.0.0.1:$DB_PORT/postgres?sslmode=disable"
EDGE_PID=$RUN/edge.pid
# Which generation of API keys the platform hands out (platform/jwt.ts): new (default) or legacy.
KEYS_MODE=${SOULPRINT_KEYS:-new}
# The transaction pooler functions connect through (Supavisor's part on the hosted platform).
POOLER_PORT=${SOULPRINT_POOLER_PORT:-$((DB_PORT + 7))}
POOLER_URL="postgresql://postgres:postgres@127.0.0.1:$POOLER_PORT/postgres?sslmode=disable"
DENO="$ROOT/node_modules/.bin/deno"
# The npm package's launcher is a node shim; long-running processes use the binary itself so
# that pid files and signals reach the real process.
deno_bin() { local b; for b in "$ROOT"/node_modules/@deno/linux-*/deno; do [[ -x $b ]] && { echo "$b"; return; }; done; echo "$DENO"; }
SUPABASE="$ROOT/node_modules/.bin/supabase"

say() { echo "platform: $*"; }
die() { echo "platform: error: $*" >&2; exit 1; }

PG_MAJOR=$(pg_detect_major "$PGDATA")
PG_BIN=/usr/lib/postgresql/${PG_MAJOR:-none}/bin

# Postgres refuses to run as root; as root the cluster belongs to the `postgres` system user.
# From / so that the postgres user is never left in a directory it cannot read.
as_pg() { if [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

ensure_tools() {
  if [[ ! -x $DENO || ! -x $SUPABASE ]]; then
    say "installing the npm toolchain (deno, supabase)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed: the npm registry must be reachable"
  fi
  local ext; ext=$("$PG_BIN/pg_config" --sharedir 2>/dev/null || echo /nonexistent)/extension
  if [[ ! -x $PG_BIN/pg_ctl || ! -f $ext/vector.control || ! -f $ext/pg_net.control ]] || ! command -v pg_prove >/dev/null; then
    PG_MAJOR=$PG_MAJOR bash "$ROOT/platform/install-packages.sh"
  else
    PG_MAJOR=$PG_MAJOR bash "$ROOT/platform/install-packages.sh" >/dev/null
  fi
  # Unknown until apt's lists exist (install-packages.sh updates them).
  if [[ -z $PG_MAJOR ]]; then PG_MAJOR=$(pg_detect_major "$PGDATA"); PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin; fi
  [[ -x $PG_BIN/pg_ctl ]] || die "PostgreSQL ${PG_MAJOR:-?} is not installed in /usr/lib/postgresql (set PG_MAJOR to choose a version)"
}

# Who listens on a TCP port (empty when free).
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/\1 pid \2/p' | head -n1; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_running() { [[ -f $PGDATA/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }
edge_running() { [[ -f $EDGE_PID ]] && kill -0 "$(cat "$EDGE_PID")" 2>/dev/null && grep -q "platform/server.ts" "/proc/$(cat "$EDGE_PID")/cmdline" 2>/dev/null; }

psql_() { PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" "$DB_URL" -v ON_ERROR_STOP=1 -q -X "$@"; }

init_cluster() {
  mkdir -p "$STATE" "$RUN" "$LOGS" "$PG_SOCK"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$STATE" "$RUN" "$LOGS"; chmod 755 "$STATE"
    if [[ $PG_HOME != "$STATE" ]]; then chmod 755 "$(dirname "$PG_HOME")"; chown -R postgres "$PG_HOME"; fi
  fi
  [[ -f $PGDATA/PG_VERSION ]] && return 0
  say "creating the PostgreSQL $PG_MAJOR cluster in $PGDATA"
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 \
    || { tail -n 20 "$LOGS/initdb.log" >&2; die "initdb failed for $PGDATA (log: $LOGS/initdb.log)"; }
  cat >>"$PGDATA/postgresql.conf" <<CONF
# --- SoulPrint local platform ---
listen_addresses = '127.0.0.1'
port = $DB_PORT
unix_socket_directories = '$PG_SOCK'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.host = '127.0.0.1'
max_connections = 200
max_worker_processes = 16
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
}

start_pg() {
  if pg_running; then return 0; fi
  if port_busy "$DB_PORT"; then die "port $DB_PORT is taken by $(port_owner "$DB_PORT" || echo 'another process'); stop it or set SOULPRINT_DB_PORT"; fi
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PG_LOG" -w -t 60 start >/dev/null \
    || { tail -n 20 "$PG_LOG" >&2; die "PostgreSQL did not start (log: $PG_LOG)"; }
}

apply_database() {
  for f in "$ROOT"/platform/standins/*.sql; do psql_ -f "$f" >/dev/null || die "stand-in $(basename "$f") failed"; done
  # --include-all: a migration dated before ones already applied (20261128000150) still runs.
  (cd "$ROOT" && "$SUPABASE" db push --db-url "$DB_URL" --include-all --yes >"$LOGS/db-push.log" 2>&1) \
    || { tail -n 30 "$LOGS/db-push.log" >&2; die "supabase db push failed (log: $LOGS/db-push.log)"; }
  local service_key
  service_key=$(SOULPRINT_KEYS="$KEYS_MODE" "$DENO" run --quiet --allow-env "$ROOT/platform/keys.ts" service_role_key)
  psql_ -v project_url="http://127.0.0.1:$API_PORT" -v service_role_key="$service_key" -f "$ROOT/supabase/seed.sql" >/dev/null \
    || die "seeding local Vault secrets failed"
}

# --- Transaction pooler ------------------------------------------------------------------------
# PgBouncer in transaction mode in front of the cluster, as Supavisor is in front of the hosted
# database: functions get SUPABASE_DB_URL pointing here, so a session feature (prepared statements,
# session settings, LISTEN, session advisory locks) fails locally as it would in production.
pooler_running() { [[ -f $RUN/pgbouncer.pid ]] && kill -0 "$(cat "$RUN/pgbouncer.pid")" 2>/dev/null; }

start_pooler() {
  if pooler_running; then return 0; fi
  command -v pgbouncer >/dev/null || die "pgbouncer is not installed (platform/install-packages.sh installs it)"
  if port_busy "$POOLER_PORT"; then die "port $POOLER_PORT is taken by $(port_owner "$POOLER_PORT" || echo 'another process'); stop it or set SOULPRINT_POOLER_PORT"; fi
  echo '"postgres" "postgres"' >"$STATE/pgbouncer.users"
  cat >"$STATE/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$DB_PORT dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $POOLER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $STATE/pgbouncer.users
pool_mode = transaction
max_client_conn = 500
default_pool_size = 60
ignore_startup_parameters = extra_float_digits,options
admin_users = postgres
logfile = $LOGS/pgbouncer.log
pidfile = $RUN/pgbouncer.pid
INI
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$STATE/pgbouncer.ini" "$STATE/pgbouncer.users"; fi
  as_pg pgbouncer -q -d "$STATE/pgbouncer.ini" || { tail -n 20 "$LOGS/pgbouncer.log" >&2; die "PgBouncer did not start (log: $LOGS/pgbouncer.log)"; }
  for _ in $(seq 1 50); do port_busy "$POOLER_PORT" && return 0; sleep 0.1; done
  die "PgBouncer did not listen on :$POOLER_PORT (log: $LOGS/pgbouncer.log)"
}

stop_pooler() {
  if pooler_running; then kill -TERM "$(cat "$RUN/pgbouncer.pid")" 2>/dev/null && say "PgBouncer stopped"; fi
  rm -f "$RUN/pgbouncer.pid"
}

start_edge() {
  [[ $KEYS_MODE == new || $KEYS_MODE == legacy ]] || die "SOULPRINT_KEYS must be new or legacy, not $KEYS_MODE"
  if edge_running; then
    # A running server keeps the keys it started with: another mode needs a restart.
    curl -fsS "http://127.0.0.1:$API_PORT/_platform/health" 2>/dev/null | grep -q "\"keys\":\"$KEYS_MODE\"" && return 0
    say "restarting the edge server with SOULPRINT_KEYS=$KEYS_MODE"
    stop_edge
  fi
  if port_busy "$API_PORT"; then die "port $API_PORT is taken by $(port_owner "$API_PORT" || echo 'another process'); stop it or set SOULPRINT_API_PORT"; fi
  rm -f "$EDGE_PID"
  # The server writes its own pid file once listening; setsid makes it a process-group leader so
  # that stop also ends its function workers.
  (
    cd "$ROOT" || exit 1
    export SOULPRINT_DB_URL="$DB_URL" SOULPRINT_POOLER_URL="$POOLER_URL" SOULPRINT_API_PORT="$API_PORT" SOULPRINT_STATE="$STATE" SOULPRINT_KEYS="$KEYS_MODE"
    exec setsid "$(deno_bin)" run -A --quiet "$ROOT/platform/server.ts"
  ) >>"$LOGS/edge.log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do
    if [[ -f $EDGE_PID ]]; then
      edge_running || { tail -n 30 "$LOGS/edge.log" >&2; die "the edge server exited (log: $LOGS/edge.log)"; }
      curl -fsS "http://127.0.0.1:$API_PORT/_platform/health" >/dev/null 2>&1 && return 0
    fi
    sleep 0.2
  done
  die "the edge server did not answer on :$API_PORT within 30 s (log: $LOGS/edge.log)"
}

cmd_start() {
  ensure_tools
  init_cluster
  start_pg
  apply_database
  start_pooler
  start_edge
  say "up: database $DB_URL, pooler 127.0.0.1:$POOLER_PORT, API http://127.0.0.1:$API_PORT"
}

stop_edge() {
  if edge_running; then
    local pid; pid=$(cat "$EDGE_PID")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    say "edge server stopped"
  fi
  rm -f "$EDGE_PID"
}

cmd_stop() {
  stop_edge
  stop_pooler
  if pg_running; then as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && say "PostgreSQL stopped"; fi
}

cmd_status() {
  local ok=0 line
  if pg_running && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$DB_PORT"; then
    printf '%-18s up    %s\n' postgres "127.0.0.1:$DB_PORT ($(psql_ -Atc 'show server_version' | cut -d' ' -f1))"
    line=$(psql_ -Atc "select count(*) from supabase_migrations.schema_migrations" 2>/dev/null || echo "?")
    printf '%-18s %-5s %s\n' migrations "$([[ $line != "?" && $line -gt 0 ]] && echo up || echo down)" "$line applied"
    [[ $line != "?" && $line -gt 0 ]] || ok=1
    line=$(psql_ -Atc "select count(*) from pg_stat_activity where backend_type = 'pg_cron launcher'" 2>/dev/null || echo 0)
    printf '%-18s %-5s %s\n' pg_cron "$([[ $line -gt 0 ]] && echo up || echo down)" "$(psql_ -Atc "select count(*) from cron.job where active" 2>/dev/null || echo 0) active jobs"
    [[ $line -gt 0 ]] || ok=1
    printf '%-18s %-5s %s\n' extensions up "$(psql_ -Atc "select string_agg(extname || ' ' || extversion, ', ' order by extname) from pg_extension where extname in ('vector','pg_cron')")"
  else
    printf '%-18s down\n' postgres; ok=1
  fi
  if pooler_running; then printf '%-18s up    %s\n' pooler "127.0.0.1:$POOLER_PORT (PgBouncer, transaction mode)"
  else printf '%-18s down\n' pooler; ok=1; fi
  if edge_running && line=$(curl -fsS "http://127.0.0.1:$API_PORT/_platform/health" 2>/dev/null); then
    echo "$line" | "$DENO" eval --quiet '
      const h = JSON.parse(await new Response(Deno.stdin.readable).text());
      for (const [name, c] of Object.entries(h.components)) console.log(`${name.padEnd(18)} ${(c.up ? "up" : "down").padEnd(5)} ${c.detail}`);
      if (!Object.values(h.components).every((c) => c.up)) Deno.exit(1);' || ok=1
  else
    printf '%-18s down\n' functions-gateway storage-api net-worker; ok=1
  fi
  return $ok
}

cmd_reset() {
  cmd_stop
  if [[ -d $STATE ]]; then rm -rf "$PGDATA" "$STATE/storage" "$RUN"; say "local data removed"; fi
  cmd_start
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  url) echo "$DB_URL" ;;
  tools) ensure_tools ;;
  *) echo "usage: platform.sh start|stop|status|reset" >&2; exit 2 ;;
esac
