#!/bin/sh
# all.sh -- trains every seed-model example and its PyTorch twin in full (run.sh for each,
# fixed seeds, lunet and torch interleaved on 1 and 2 threads) and writes the table of
# results into experiments/results/examples.md and into experiments/RESULTS.md between the
# lines "<!-- examples table -->" and "<!-- end of examples table -->". Given names, it
# re-runs those rows only and keeps the others' lines from results/examples.md.
#
#   experiments/examples/all.sh [NAME...]          (from the repository root; default: all rows)
#   QUICK=1 experiments/examples/all.sh mlp qa     (one epoch each, to try the script: no targets)
#
# It takes about 3 hours on 2 idle cores (the DCGAN and the GANs most of it). Env as run.sh
# (LUNET, PYTHON, THREADS). The GANs are judged by a CNN that cnn.lua trains first, and
# the QA rows use one corpus that make_corpus.lua writes first, both in a scratch directory.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
LUNET=${LUNET:-./lunet}
export LUNET
work=$(mktemp -d /tmp/lunet-examples.XXXX)
trap 'rm -rf "$work"' EXIT

# name | epochs | extra arguments | model | metric | goal (>= or <=, then the target; - for none)
rows='mlp|5||MLP (`mlp.lua`)|test accuracy|>= 0.88
cnn|5||CNN (`cnn.lua`)|test accuracy|>= 0.91
vae|10||VAE MLP (`vae.lua`)|test -ELBO, nats|<= 245
vae|10|--conv|VAE conv (`vae.lua --conv`)|test -ELBO, nats|-
gan|30||GAN (`gan.lua`)|samples judged confident|-
dcgan|5||DCGAN (`dcgan.lua`)|samples judged confident|-
qa_seq2seq|100|--data DATA|QA LSTM (`qa_seq2seq.lua`)|exact match, held-out phrasings|>= 0.95
transformer_qa|30|--data DATA|QA Transformer (`transformer_qa.lua`)|exact match, held-out phrasings|-'
wanted=" ${*:-mlp cnn vae gan dcgan qa_seq2seq transformer_qa} "

need_judge=; need_corpus=
case $wanted in *" gan "*|*" dcgan "*) need_judge=1;; esac
case $wanted in *" qa_seq2seq "*|*" transformer_qa "*) need_corpus=1;; esac
if [ -n "$need_judge" ]; then
  echo "training the judge of the GAN samples: examples/cnn.lua ${QUICK:+--quick}"
  (cd "$work" && LUNET_DB=$work/judge.db "$root/$LUNET" "$root/examples/cnn.lua" ${QUICK:+--quick} \
    --save "$work/cnn" >"$work/judge.txt" 2>&1) || { cat "$work/judge.txt"; exit 1; }
  CLASSIFIER=$work/cnn.safetensors
  export CLASSIFIER
fi
[ -z "$need_corpus" ] || "$LUNET" examples/qa/make_corpus.lua --out "$work/qa" >/dev/null

new=$work/new.md; : >"$new"
printf '%s\n' "$rows" | while IFS='|' read -r name epochs extra model what goal; do
  case $wanted in *" $name "*) ;; *) continue;; esac
  [ -z "${QUICK:-}" ] || epochs=1
  extra=$(printf '%s' "$extra" | sed "s|DATA|$work/qa|")
  echo "== $model: run.sh $name $epochs $extra" >&2
  # shellcheck disable=SC2086  # extra is zero or more words
  out=$(experiments/examples/run.sh "$name" "$epochs" $extra) || { printf '%s\n' "$out" >&2; exit 1; }
  printf '%s\n' "$out" >&2
  printf '%s\n' "$out" | awk -v model="$model" -v epochs="$epochs" -v what="$what" -v goal="$goal" -v quick="${QUICK:-}" \
    -v when="$(date -u +%Y-%m-%d)" '
    $1 == "lunet" || $1 == "torch" { secs[$1 " " $2] = $3; if (!($1 in res) || $2 == "1T") res[$1] = $4
      if ($3 != "?" && (!($1 in best) || $3 + 0 < best[$1])) best[$1] = $3 + 0 }
    function v(x) { return x == "" ? "-" : x }
    END {
      target = "-"
      if (goal != "-") {
        split(goal, g, " "); r = res["lunet"] + 0
        ok = (g[1] == ">=") ? r >= g[2] : r <= g[2]
        target = goal ", " (quick ? "quick run" : (ok ? "met" : "**not met**"))
      }
      printf "| %s | %s | %s / %s %s | %s | %s / %s / %s / %s | %s | %s |\n", model, epochs, res["lunet"], res["torch"], what,
             target, v(secs["lunet 1T"]), v(secs["torch 1T"]), v(secs["lunet 2T"]), v(secs["torch 2T"]),
             (best["torch"] > 0) ? sprintf("%.2f", best["lunet"] / best["torch"]) : "-", when (quick ? ", quick" : "")
    }' >>"$new"
done

# the table in row order: the rows just run, else the row's line from the last examples.md
table=$work/table.md
{
  echo "| model | epochs | result, lunet / PyTorch | target | s/epoch lunet 1T / torch 1T / lunet 2T / torch 2T | lunet best / torch best | measured |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "$rows" | while IFS='|' read -r _ _ _ model _ _; do
    line=$(grep -F "| $model |" "$new" || true)
    [ -n "$line" ] || line=$(grep -F "| $model |" experiments/results/examples.md 2>/dev/null || true)
    [ -z "$line" ] || printf '%s\n' "$line"
  done
} >"$table"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "Written by \`experiments/examples/all.sh${*:+ $*}\`${QUICK:+ (QUICK=1)} on $(date -u '+%Y-%m-%d %H:%M UTC'),"
  echo "commit $commit$(git diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes'), $(nproc) cores,"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end. The result is the 1-thread run's; \"best\" is"
  echo "the fastest thread setting of each side; \"measured\" dates each row (a row not re-run keeps"
  echo "its line). See experiments/results/*.md for each example's details."
  echo
  cat "$table"
} >experiments/results/examples.md
# the same block into RESULTS.md, between the marker lines
awk -v file=experiments/results/examples.md '
  /^<!-- end of examples table -->$/ { skip = 0 }
  !skip { print }
  /^<!-- examples table -->$/ { while ((getline line < file) > 0) print line; skip = 1 }
' experiments/RESULTS.md >"$work/RESULTS.md" && cp "$work/RESULTS.md" experiments/RESULTS.md
cat experiments/results/examples.md
