#!/usr/bin/env bash
# fuzz-campaign.sh CPU_SECONDS TARGET... - a long fuzzing run, as opposed to
# the short smoke run of `make fuzz` (scripts/fuzz.sh).  Needs the libFuzzer
# binaries `make fuzz` builds in build/fuzz/.
#
# Each target runs, at low priority, until it has used CPU_SECONDS of CPU
# time (wall time is longer on a busy machine), from a scratch copy of its
# seed corpus.  The inputs it found are then merged (libFuzzer -merge=1)
# into fuzz/corpus/<target>/: only inputs that add coverage over the seeds
# are added, so the corpus grows by what matters.  A crash, leak or UB stops
# that target and fails the run; the input is kept in build/fuzz/artifacts/.
# One line per target goes to build/fuzz/campaign.txt (CPU seconds, runs,
# inputs added), the record docs/fuzzing.md quotes.
#
# FUZZ_FORK=N runs N libFuzzer processes at once (-fork=N): for a target
# that mostly waits (fuzz_host_request talks to a real server over TCP), so
# that the CPU budget is spent in hours of wall time rather than days.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=$1; shift
mkdir -p build/fuzz/artifacts
status=0
for t in "$@"; do
  bin="build/fuzz/$t"
  [ -x "$bin" ] || { echo "campaign: $bin missing (run make fuzz first)"; status=1; continue; }
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  log="build/fuzz/$t.campaign.log"
  : >"$log"
  used=0 runs=0 ok=1
  while ((used < budget)); do
    left=$((budget - used))
    # CPU of waited-for children (cutime + cstime) before and after
    start_ticks=$(awk '{print $16 + $17}' /proc/$$/stat)
    nice -n 19 "$bin" -max_total_time="$left" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      ${FUZZ_FORK:+-fork="$FUZZ_FORK"} -artifact_prefix="build/fuzz/artifacts/$t-" "$work" >>"$log" 2>&1 || ok=0
    end_ticks=$(awk '{print $16 + $17}' /proc/$$/stat)
    used=$((used + (end_ticks - start_ticks) / $(getconf CLK_TCK)))
    if [ -n "${FUZZ_FORK:-}" ]; then # fork mode reports "#RUNS: cov: ..." lines
      r=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 | sed -E 's/^#([0-9]+):.*/\1/')
    else
      r=$(grep -E '^stat::number_of_executed_units' "$log" | tail -n 1 | awk '{print $2}')
    fi
    runs=$((runs + ${r:-0}))
    ((ok)) || break
    # a run that used almost no CPU (machine saturated) still moves on
    ((end_ticks - start_ticks > 0)) || used=$((used + left))
  done
  if ((!ok)); then
    echo "campaign: $t FAILED (see $log and build/fuzz/artifacts/)"
    tail -n 30 "$log"
    status=1
  fi
  n0=$(ls "fuzz/corpus/$t" | wc -l)
  "$bin" -merge=1 -rss_limit_mb=2048 "fuzz/corpus/$t" "$work" >>"$log" 2>&1
  n1=$(ls "fuzz/corpus/$t" | wc -l)
  printf '%-24s cpu=%5ds runs=%-10s added=%d crash=%s\n' "$t" "$used" "$runs" $((n1 - n0)) \
    "$( ((ok)) && echo no || echo YES)" | tee -a build/fuzz/campaign.txt
  rm -rf "$work"
done
exit $status
