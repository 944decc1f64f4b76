#!/usr/bin/env bash
# bench.sh -- lunet vs PyTorch vs raw BLAS / raw C, side by side (issue 2: tensor core).
#
#   make bench                               (runs ./lunet)
#   LUNET=build-c/lunet ./experiments/bench.sh
#
# Sections: matmul (GFLOP/s), ew (x + y and exp, GB/s), small (us per op on 2x2),
# startup (ms for `lunet -e ''`), train (ms per training step of the MLP, the
# Keras CNN and the LSTM: bench_train.lua / .py; issue 3), data (loading
# Fashion-MNIST and one epoch of batches: bench_data.lua / .py; issue 4). Programs are run interleaved -- lunet, torch,
# lunet, torch, baseline, ... -- section by section, for BENCH_ROUNDS rounds, the
# order rotated every round. Each run reports the best and the median of its
# samples; the tables give, per figure, the best over the rounds and the median
# over the rounds, and ratios between programs measured in the same rounds.
# lunet runs at LUNET_NUM_THREADS=1 and 2; PyTorch at torch.set_num_threads(1|2)
# x OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1|2, and its fastest one is reported.
#
# The machine is shared: before each run we wait (a little) for the other
# processes to go quiet, and we record how much CPU they took during the run
# (column "other CPU" in the log). With 2 cores, a 2-thread run next to a busy
# process loses one of its threads for whole scheduler slices.
#
# Environment:
#   LUNET            the binary (default ./lunet)
#   BENCH_ROUNDS     rounds (default 3)
#   BENCH_SECTIONS   default "matmul ew small startup train data"
#   BENCH_TARGET     seconds per timed sample (default 0.06); BENCH_SAMPLES (5)
#   BENCH_STARTUP_N  runs of `lunet -e ''` (default 50; lua5.4 as many, torch 10)
#   BENCH_RAW        also keep the raw BENCH lines in this file
#   BENCH_NO_TORCH=1 skip PyTorch;  PYTHON (default /usr/bin/python3)
#   BENCH_WAIT_MAX   seconds to wait for a quiet machine before each run (default 10),
#                    BENCH_WAIT_TOTAL at most in all (default 60)
set -euo pipefail

LUNET=${LUNET:-./lunet}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
SECTIONS=${BENCH_SECTIONS:-matmul ew small startup train data}
STARTUP_N=${BENCH_STARTUP_N:-50}
PYTHON=${PYTHON:-/usr/bin/python3}
WAIT_MAX=${BENCH_WAIT_MAX:-10}
WAIT_TOTAL=${BENCH_WAIT_TOTAL:-60}
CC=${CC:-cc}
export BENCH_TARGET=${BENCH_TARGET:-0.06} BENCH_SAMPLES=${BENCH_SAMPLES:-5}

if [ ! -x "$LUNET" ]; then
  echo "bench.sh: $LUNET is not an executable (build it first, or set LUNET=...)" >&2
  exit 1
fi
case "$LUNET" in /*) ;; *) LUNET="$PWD/$LUNET" ;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lunet-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RAW=$WORK/raw.txt
: > "$RAW"

# ---- build the helpers with lunet's own flags --------------------------------
CFLAGS_BENCH=(-O3 -march=native -mprefer-vector-width=512 -fopenmp -fno-math-errno -I/usr/include/x86_64-linux-gnu/openblas-openmp)
$CC "${CFLAGS_BENCH[@]}" -o "$WORK/gemm_baseline" "$HERE/gemm_baseline.c" -lopenblas -lm
$CC "${CFLAGS_BENCH[@]}" -o "$WORK/ew_baseline" "$HERE/ew_baseline.c" -lm

HAVE_TORCH=0
if [ "${BENCH_NO_TORCH:-0}" != 1 ] && [ -x "$PYTHON" ] && "$PYTHON" -c 'import torch' 2>/dev/null; then
  HAVE_TORCH=1
fi
HAVE_LUA=0
command -v lua5.4 >/dev/null 2>&1 && HAVE_LUA=1

# ---- CPU used by other processes ---------------------------------------------
TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
busy_jiffies() { # all CPUs: user nice system irq softirq steal
  local _c u n s _i _w q sq st _r
  read -r _c u n s _i _w q sq st _r < /proc/stat
  echo $((u + n + s + q + sq + st))
}
# wait until the others use less than a quarter of a core (at most WAIT_MAX s)
WAITED=0
wait_quiet() {
  local start=$SECONDS b0 b1
  [ "$WAITED" -ge "$WAIT_TOTAL" ] && return 0
  while :; do
    b0=$(busy_jiffies); sleep 0.25; b1=$(busy_jiffies)
    # 0.25 s on NCPU cores: (b1-b0)/TCK/0.25 cores busy; quiet if < 0.25 core
    [ $(( (b1 - b0) * 16 )) -lt "$TCK" ] && break
    [ $((SECONDS - start)) -ge "$WAIT_MAX" ] && break
    sleep 0.75
  done
  WAITED=$((WAITED + SECONDS - start))
}

# run NAME ENV... -- CMD...: one benchmark program; its BENCH lines are tagged
# with the round and the CPU the other processes took meanwhile (in cores)
run() {
  local round=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  wait_quiet
  local b0 b1 t0 t1 cpu
  b0=$(busy_jiffies); t0=$EPOCHREALTIME
  local TIMEFORMAT='%3U %3S'
  { time env "${envs[@]}" "$@" > "$WORK/out" 2> "$WORK/err" ; } 2> "$WORK/time" || {
    echo "bench.sh: failed: ${envs[*]} $*" >&2; cat "$WORK/err" >&2; return 0; }
  t1=$EPOCHREALTIME; b1=$(busy_jiffies)
  cpu=$(awk '{print $1 + $2}' "$WORK/time")
  local other
  other=$(awk -v b="$((b1 - b0))" -v tck="$TCK" -v cpu="$cpu" -v t0="$t0" -v t1="$t1" \
    'BEGIN { o = (b / tck - cpu) / (t1 - t0); if (o < 0) o = 0; printf "%.2f", o }')
  grep '^BENCH ' "$WORK/out" | sed "s/\$/ round=$round other=$other/" >> "$RAW" || true
  local label="${envs[*]} ${1##*/} ${*:2}"
  label=${label//OPENBLAS_NUM_THREADS/OPENBLAS}; label=${label//$HERE\//}
  printf '  round %s  %-72s %5.1fs  other CPU %s\n' "$round" "$label" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$other" >&2
}

# the programs of one section, in run order
jobs_for() { # section -> lines "ENV... -- CMD..."
  local sec=$1
  local L="$HERE/bench_tensor.lua" P="$HERE/bench_tensor.py"
  if [ "$sec" = train ]; then L="$HERE/bench_train.lua" P="$HERE/bench_train.py"; sec=""; fi
  if [ "$sec" = data ]; then L="$HERE/bench_data.lua" P="$HERE/bench_data.py"; sec=""; fi
  echo "LUNET_NUM_THREADS=1 -- $LUNET $L $sec"
  [ $HAVE_TORCH = 1 ] && echo "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 -- $PYTHON $P --threads 1 $sec"
  echo "LUNET_NUM_THREADS=2 -- $LUNET $L $sec"
  [ $HAVE_TORCH = 1 ] && echo "OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 -- $PYTHON $P --threads 2 $sec"
  case $sec in
  matmul) echo "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 -- $WORK/gemm_baseline 1"
          echo "OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 -- $WORK/gemm_baseline 2" ;;
  ew)     echo "OMP_NUM_THREADS=1 -- $WORK/ew_baseline 1"
          echo "OMP_NUM_THREADS=2 -- $WORK/ew_baseline 2" ;;
  small)  echo "LUNET_NUM_THREADS=1 -- $LUNET $L smallgen" ;; # Lua's generational GC
  esac
  # the mixed settings matter only where threads do (not for 2x2 ops)
  if [ $HAVE_TORCH = 1 ] && [ "$sec" != small ]; then
    echo "OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 -- $PYTHON $P --threads 1 $sec"
    echo "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 -- $PYTHON $P --threads 2 $sec"
  fi
}

# ---- start-up: interleaved single runs, timed here -------------------------------
time_once() { # impl var cmd... -> one BENCH line (t in seconds)
  local impl=$1 var=${2// /+}; shift 2 # no spaces inside a field
  local t0 t1
  t0=$EPOCHREALTIME
  "$@" > /dev/null 2>&1 || true
  t1=$EPOCHREALTIME
  echo "BENCH impl=$impl cfg=- sec=startup case=start var=$var work=1 unit=ms t_best=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6e", b-a}') t_med=0 reps=1 round=1 other=0" >> "$RAW"
}
bench_startup() {
  wait_quiet
  local i
  local b0 t0
  b0=$(busy_jiffies); t0=$EPOCHREALTIME
  for ((i = 1; i <= STARTUP_N; i++)); do
    time_once lunet "lunet -e ''" "$LUNET" -e ''
    time_once lunet "LUNET_NUM_THREADS=1 lunet -e ''" env LUNET_NUM_THREADS=1 "$LUNET" -e ''
    if [ $HAVE_LUA = 1 ]; then time_once lua "lua5.4 -e ''" lua5.4 -e ''; fi
    time_once true "/bin/true (process spawn)" /bin/true
    if [ $HAVE_TORCH = 1 ] && [ $((i % (STARTUP_N / 10 > 0 ? STARTUP_N / 10 : 1))) = 0 ]; then
      time_once torch "python3 -c 'import torch'" "$PYTHON" -c 'import torch'
      time_once python "python3 -c ''" "$PYTHON" -c ''
    fi
  done
  echo "  startup: ${STARTUP_N} interleaved runs in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')s" >&2
}

echo "lunet bench: $LUNET, $ROUNDS rounds, sections: $SECTIONS, torch: $([ $HAVE_TORCH = 1 ] && echo yes || echo no)" >&2
T_START=$SECONDS
for sec in $SECTIONS; do
  [ "$sec" = startup ] && continue
  mapfile -t JOBS < <(jobs_for "$sec")
  n=${#JOBS[@]}
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((j = 0; j < n; j++)); do
      line=${JOBS[$(( (j + (r - 1) * 2) % n ))]} # rotate by one lunet/torch pair a round
      jenv=${line%% -- *}; cmd=${line#* -- }
      # shellcheck disable=SC2086
      run "$r" $jenv -- $cmd
    done
  done
done
case " $SECTIONS " in *" startup "*) bench_startup ;; esac

if [ -n "${BENCH_RAW:-}" ]; then cp "$RAW" "$BENCH_RAW"; fi
echo "done in $((SECONDS - T_START))s (of which ${WAITED}s waiting for a quiet machine)" >&2
echo
echo "lunet: $("$LUNET" -v | tr '\n' ' ')"
echo "machine: $NCPU cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
if [ -x "$PYTHON" ]; then
  "$PYTHON" "$HERE/bench_report.py" "$RAW"
else
  cat "$RAW"
fi
