#!/bin/sh
# run.sh -- times an example against its PyTorch twin: same epochs, on 1 then 2 threads,
# interleaved (lunet 1T, torch 1T, lunet 2T, torch 2T) so a change of machine load hits
# both sides alike. Each run gets a scratch dir and its own LUNET_DB. Prints one table:
# setting, seconds per epoch (median over epochs, the first left out when there are >= 3),
# final metric (test accuracy, or test negative ELBO for the VAE).
#
#   experiments/examples/run.sh NAME [EPOCHS] [ARGS...]      (from the repo root)
#   experiments/examples/run.sh mlp 5
#   experiments/examples/run.sh vae 2 --conv                 (ARGS go to both sides)
#
# NAME is examples/NAME.lua against experiments/examples/NAME_torch.py. Env: LUNET (the
# binary's path, default ./lunet), PYTHON (default /usr/bin/python3), THREADS (default "1 2"),
# KEEP=1 keeps the scratch dirs (their paths are printed) to read the full logs,
# CLASSIFIER (gan, dcgan): a checkpoint of examples/cnn.lua to judge the samples of both sides
# (lunet gets --classifier; the twin's samples PNG is judged by score_samples.lua).
# lunet's epoch time is the run's `epoch_seconds` metric when it logs one (the QA examples,
# whose twin times training only), else the gap between the epoch's first logged metric and
# the previous one (epoch 1: from the run's start) in runs.db, so, like the twins' own
# timing, it includes the test pass at the end of the epoch.
set -eu
[ $# -ge 1 ] || { sed -n '8,10p' "$0"; exit 2; }
name=$1; shift
epochs=${1:-}
case $epochs in ''|-*) epochs=;; *) shift;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
lunet=$(cd "$(dirname "${LUNET:-./lunet}")" && pwd)/$(basename "${LUNET:-./lunet}")
python=${PYTHON:-/usr/bin/python3}
ep=${epochs:+--epochs $epochs}   # left unquoted below: empty, or two words
judge=
case $name in gan|dcgan) judge=${CLASSIFIER:+$(cd "$(dirname "$CLASSIFIER")" && pwd)/$(basename "$CLASSIFIER")};; esac

# the median of the numbers on stdin, one a line; the first left out when there are >= 3
median() {
  awk '{ v[NR] = $1 } END { s = (NR >= 3) ? 2 : 1; n = 0
       for (i = s; i <= NR; i++) w[++n] = v[i]
       for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (w[j] < w[i]) { t = w[i]; w[i] = w[j]; w[j] = t }
       if (n == 0) print "?"; else printf "%.2f", (n % 2) ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2 }'
}
# the last "accuracy 0.89" / "ELBO: 245.1" / "confidence > 0.9: 0.49" / "exact match 0.97" of a log
metric() { grep -oE '(accuracy|ELBO|> 0\.9|exact match):? [0-9.]+' "$1" | tail -n 1 | awk '{ print $NF }'; }

# lunet's seconds per epoch from runs.db (queried with lunet itself: no sqlite3 program needed)
lunet_epochs() {
  run="(SELECT run_id FROM metrics GROUP BY run_id ORDER BY COUNT(*) DESC LIMIT 1)"
  timed=$("$lunet" runs --db "$1" sql "SELECT m.value FROM metrics m JOIN metric_keys k ON k.id = m.key_id
            WHERE k.name = 'epoch_seconds' AND m.run_id = $run ORDER BY m.step" --format csv | tail -n +2)
  if [ -n "$timed" ]; then printf '%s\n' "$timed"; return; fi
  # one time per logged step (epoch), minus the previous
  "$lunet" runs --db "$1" sql "SELECT MIN(m.time) - COALESCE((SELECT MIN(p.time) FROM metrics p
                  WHERE p.run_id = m.run_id AND p.step = m.step - 1), r.started) AS seconds
                FROM metrics m JOIN runs r ON r.id = m.run_id
                WHERE m.run_id = $run GROUP BY m.step ORDER BY m.step" --format csv | tail -n +2
}

printf '%-10s %12s  %s\n' setting 's/epoch' metric
for t in ${THREADS:-1 2}; do
  for side in lunet torch; do
    dir=$(mktemp -d "/tmp/run-$name-$side-${t}T.XXXX")
    log=$dir/out.txt
    if [ $side = lunet ]; then
      (cd "$dir" && LUNET_DB=$dir/runs.db LUNET_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t \
        "$lunet" "$root/examples/$name.lua" $ep ${judge:+--classifier "$judge"} "$@" >"$log" 2>&1) ||
        { echo "lunet failed: $log" >&2; exit 1; }
      secs=$(lunet_epochs "$dir/runs.db" | median)
    else
      (cd "$dir" && OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t \
        "$python" "$root/experiments/examples/${name}_torch.py" $ep --threads "$t" "$@" >"$log" 2>&1) ||
        { echo "torch failed: $log" >&2; exit 1; }
      secs=$(grep -E '^epoch ' "$log" | grep -oE '\([0-9.]+ s\)' | tr -d '(s)' | median)
      if [ -n "$judge" ]; then
        "$lunet" "$root/experiments/examples/score_samples.lua" "$dir/${name}_torch_1000.png" "$judge" >>"$log" 2>&1 ||
          { echo "scoring failed: $log" >&2; exit 1; }
      fi
    fi
    printf '%-10s %12s  %s\n' "$side ${t}T" "$secs" "$(metric "$log")"
    if [ "${KEEP:-}" = 1 ]; then echo "  (log: $log)"; else rm -rf "$dir"; fi
  done
done
