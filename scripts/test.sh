#!/usr/bin/env bash
# Runs every suite against the local platform: Deno tests (unit + integration, with coverage of
# shared/) and pgTAP files with pg_prove. Ends with one summary line: "<N> passed, <M> failed",
# counting tests only; with no file arguments the type check runs first and is named on that
# line on its own ("(type check ok|FAILED)"): a failed check fails the run, but it is not a test.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DENO="$ROOT/node_modules/.bin/deno"
DB_URL=$(bash platform/platform.sh url)
passed=0 failed=0 skipped=0 typecheck=""

# --- Type check of every entry point (functions, CLI, platform, benchmarks) -------------------
if [[ $# -eq 0 ]]; then
  if NO_COLOR=1 "$DENO" check supabase/functions/*/index.ts cli/ bench/ platform/ shared/ tools/ >/tmp/soulprint-check.log 2>&1; then
    echo "type check: ok"; typecheck="type check ok"
  else
    cat /tmp/soulprint-check.log; echo "type check: FAILED"; typecheck="type check FAILED"
  fi
fi

# --- Deno ---------------------------------------------------------------------------------
rm -rf coverage
deno_out=$(mktemp)
NO_COLOR=1 "$DENO" test -A --coverage=coverage/raw "${@:-tests/}" 2>&1 | tee "$deno_out"
summary=$(grep -E '^(ok|FAILED) \|' "$deno_out" | tail -n1)
if [[ -n $summary ]]; then
  passed=$((passed + $(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)))
  failed=$((failed + $(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)))
  skipped=$((skipped + $(grep -oE '[0-9]+ ignored' <<<"$summary" | grep -oE '[0-9]+' || echo 0)))
else
  echo "deno test produced no summary (type error or crash)"; failed=$((failed + 1))
fi
rm -f "$deno_out"

# --- pgTAP --------------------------------------------------------------------------------
if [[ $# -eq 0 ]]; then
  tap_out=$(mktemp)
  # pg_prove takes a database name, not a URI with parameters: connection settings go by environment.
  PGSSLMODE=disable PGOPTIONS="-c client_min_messages=warning" pg_prove --verbose --ext .sql -d "${DB_URL%%\?*}" supabase/tests/database/ 2>&1 | tee "$tap_out"
  tap_rc=${PIPESTATUS[0]}
  ok=$(grep -cE '^\s*ok [0-9]+' "$tap_out" || true)
  notok=$(grep -cE '^\s*not ok [0-9]+' "$tap_out" || true)
  passed=$((passed + ok)); failed=$((failed + notok))
  if [[ $tap_rc -ne 0 && $notok -eq 0 ]]; then echo "pg_prove failed without a failing assertion (plan or SQL error)"; failed=$((failed + 1)); fi
  rm -f "$tap_out"

  # --- Coverage of shared/ ----------------------------------------------------------------
  echo "coverage of shared/:"
  NO_COLOR=1 "$DENO" coverage coverage/raw --include='shared/' 2>/dev/null | grep -vE '^\s*$' || echo "(no coverage data)"
fi

line="$passed passed, $failed failed"
[[ $skipped -gt 0 ]] && line="$line, $skipped skipped"
[[ -n $typecheck ]] && line="$line ($typecheck)"
echo "$line"
[[ $failed -eq 0 && $typecheck != "type check FAILED" ]]
