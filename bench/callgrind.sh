#!/usr/bin/env bash
# What the SDK costs over raw clients (hyper-util, its own HTTP stack with nothing on top, and
# reqwest, what a hand-rolled client usually is), counted in instructions instead of time: the
# client runs under valgrind's callgrind, which counts every user-space instruction it executes,
# nearly the same from run to run whatever else the machine is doing. Time on this shared VM
# moves by 10–20 % between two identical runs; these counts move by 1–2 % (how requests batch
# into polls differs a little).
#   bash bench/callgrind.sh            # needs valgrind (Debian: apt-get install valgrind)
# For each side (SDK, raw hyper-util, raw reqwest) and operation (get payment, capture) it runs `vipps-bench client`
# twice, with N and 2N calls at concurrency 32, and reports (I(2N) - I(N)) / N: the instructions
# of one more call, without the start-up, token fetch and seeding both runs share. Kernel time
# (the loopback TCP both clients pay alike) is not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)"; exit 1; }
cargo build --release -p vipps-cli -p vipps-bench
N=${CALLGRIND_CALLS:-2000}
WORK=$(mktemp -d)
VIPPS_LOG=error ./target/release/vipps emulator --port 0 > "$WORK/emu.out" 2>/dev/null &
EMU=$!
trap 'kill $EMU 2>/dev/null; wait $EMU 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do grep -q listening "$WORK/emu.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$WORK/emu.out")
count() { # $1 side, $2 op, $3 calls: instructions of the whole client run
  if ! valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" ./target/release/vipps-bench client \
    --base-url "$URL" --side "$1" --op "$2" --requests "$3" > /dev/null 2> "$WORK/vg.err"; then
    echo "vipps-bench client --side $1 --op $2 failed under valgrind:" >&2
    tail -20 "$WORK/vg.err" >&2
    exit 1
  fi
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$WORK/vg.err"
}
echo "## Instructions per call, user space (callgrind; valgrind $(valgrind --version | cut -d- -f2); concurrency 32, $N and $((2 * N)) calls)"
echo
echo "| operation | vipps (Rust SDK) | raw hyper-util | raw reqwest | SDK ÷ hyper-util | SDK ÷ reqwest |"
echo "|---|---|---|---|---|---|"
for op in get capture; do
  declare -A per
  for side in sdk hyper raw; do
    a=$(count $side $op "$N")
    b=$(count $side $op $((2 * N)))
    per[$side]=$(( (b - a) / N ))
  done
  awk -v op="$op" -v s="${per[sdk]}" -v h="${per[hyper]}" -v r="${per[raw]}" \
    'BEGIN { printf "| %s | %d | %d | %d | %.3f× | %.3f× |\n", (op == "get" ? "get payment" : "capture"), s, h, r, s / h, s / r }'
  unset per
done

# The emulator's side: instructions per GET payment, counted the same way (its counters are
# zeroed after seeding and a warm-up, then read after N and again after 2N more requests).
kill $EMU 2>/dev/null || true
VIPPS_LOG=error valgrind --tool=callgrind --callgrind-out-file="$WORK/emu.cg" \
  ./target/release/vipps emulator --port 0 > "$WORK/emucg.out" 2> "$WORK/emucg.err" &
EMU=$!
for _ in $(seq 100); do grep -q listening "$WORK/emucg.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$WORK/emucg.out")
control() { # $1: -z (zero the counters) or -d (dump them); stops the script when it fails
  callgrind_control "$1" $EMU > "$WORK/control.out" 2>&1 || {
    echo "callgrind_control $1 failed:" >&2; cat "$WORK/control.out" >&2; exit 1
  }
}
get_load() { # $1 requests
  ./target/release/vipps-bench target --base-url "$URL" --fetch-token --requests "$1" --post-requests 0 \
    --warmup 0 --concurrency 8 "${@:2}" > /dev/null
}
get_load 1000 --seed '{"payments":1,"prefix":"prismcmp","authorized":true}'
control -z
dumped() { # total instructions of the newest dump
  local f
  control -d
  for _ in $(seq 50); do f=$(ls -t "$WORK"/emu.cg.* 2>/dev/null | head -1); [ -n "$f" ] && grep -q '^summary' "$f" && break; sleep 0.1; done
  sed -n 's/^summary: //p' "$f"
}
get_load "$N"
a=$(dumped)
control -z
get_load $((2 * N))
b=$(dumped)
echo
echo "## Emulator: instructions per GET payment, user space (8 connections, $N and $((2 * N)) requests)"
echo
echo "$(( (b - a) / N )) instructions per request"
