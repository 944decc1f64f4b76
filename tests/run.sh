#!/bin/sh
# Runs the C unit tests given as arguments, then the Lua specs, and prints
# one total line "N passed, N failed". Exits non-zero if anything failed.
LUNET=${LUNET:-./lunet}
# the specs are runs of lunet too: record them in a scratch database, not ./runs.db
LUNET_DB=$(mktemp "${TMPDIR:-/tmp}/lunet-test-runs.XXXXXX.db")
export LUNET_DB
trap 'rm -f "$LUNET_DB" "$LUNET_DB-wal" "$LUNET_DB-shm"' EXIT
passed=0; failed=0; status=0
count() { # adds the counts from a "... N passed, N failed" line
  line=$(printf '%s\n' "$1" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  p=$(printf '%s' "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed.*/\2/')
  f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
  passed=$((passed + p)); failed=$((failed + f))
}
for t in "$@"; do
  out=$("$t" 2>&1) || status=1
  printf '%s\n' "$out" | grep -v '^ok ' 
  count "$out"
done
out=$("$LUNET" tests/spec_runner.lua 2>&1) || status=1
printf '%s\n' "$out"
count "$out"
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
