#!/usr/bin/env bash
# Our SDK against @vippsno/vipps-sdk (the faster official Node SDK) at concurrency 32, in
# alternating rounds against one running emulator, so that the drift of this shared VM, which
# has moved a single Node figure by a factor of two between runs, hits both sides alike. Each
# round is a fresh process: `node bench.mjs --round OP` and `vipps-bench client --side sdk`, the
# latter once on tokio's default runtime and once on a current-thread runtime. Every client gets
# CPU 1 (`taskset -c 1`, where taskset is there and there are two CPUs; start the emulator on
# CPU 0), so tokio's default runtime has one worker, and Node its one core as always.
# Prints a table row per round and the median, lowest and highest per-round ratio (ours ÷
# Node) for each runtime. A round whose process fails counts as n/a and is left out.
#   bench/node/interleave.sh EMU_URL ROUNDS NODE_REQUESTS RUST_REQUESTS
# Needs node (with `npm install` done in bench/node) and target/release/vipps-bench.
set -euo pipefail
url=$1 rounds=$2 node_n=$3 rust_n=$4
here=$(cd "$(dirname "$0")" && pwd)
bench="$here/../../target/release/vipps-bench"
# shellcheck source=bench/median.sh
. "$here/../median.sh"
pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin=(taskset -c 1); fi
node_rps() { # $1 op: requests/s of one Node round, or nothing when it failed
  (cd "$here" && EMU_URL="$url" ${pin[@]+"${pin[@]}"} node --require ./preload.cjs bench.mjs --round "$1" --requests "$node_n" 2>/dev/null |
    sed -n 's/^RPS=//p') || true
}
rust_rps() { # $1 op, $2 runtime: requests/s of one round of our SDK, or nothing when it failed
  ${pin[@]+"${pin[@]}"} "$bench" client --base-url "$url" --side sdk --op "$1" --requests "$rust_n" --runtime "$2" 2>/dev/null |
    awk -F'|' 'NR == 3 { gsub(/ /, "", $3); print $3 }' || true
}
ratio() { awk -v x="${1:-0}" -v y="${2:-0}" 'BEGIN { if (x > 0 && y > 0) printf "%.1f", x / y; else print "n/a" }'; }
times() { if [ "$1" = n/a ]; then echo n/a; else echo "$1×"; fi; }
for op in get capture; do
  echo
  echo "| $op, round | @vippsno/vipps-sdk calls/s | vipps, default runtime | vipps, current-thread | ratio, default | ratio, current-thread |"
  echo "|---|---|---|---|---|---|"
  d=() c=()
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
      n=$(node_rps "$op"); rd=$(rust_rps "$op" default); rc=$(rust_rps "$op" current-thread)
    else
      rc=$(rust_rps "$op" current-thread); rd=$(rust_rps "$op" default); n=$(node_rps "$op")
    fi
    qd=$(ratio "$rd" "$n") qc=$(ratio "$rc" "$n")
    echo "| $r | ${n:-n/a} | ${rd:-n/a} | ${rc:-n/a} | $(times "$qd") | $(times "$qc") |"
    if [ "$qd" != n/a ]; then d+=("$qd"); fi
    if [ "$qc" != n/a ]; then c+=("$qc"); fi
  done
  if [ ${#d[@]} -gt 0 ]; then echo "$op, default runtime: $(printf '%s\n' "${d[@]}" | median_low_high | tr '\n' ' ')"; fi
  if [ ${#c[@]} -gt 0 ]; then echo "$op, current-thread:  $(printf '%s\n' "${c[@]}" | median_low_high | tr '\n' ' ')"; fi
done
