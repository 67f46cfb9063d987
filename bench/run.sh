#!/usr/bin/env bash
# Runs every benchmark and prints the tables BENCHMARKS.md reports.
#   bash bench/run.sh            # full run
#   bash bench/run.sh --quick    # a tenth of the requests, no 1M-payment step
# The Node part installs the official SDKs from npm into bench/node (needs node and npm);
# the Prism part runs @stoplight/prism-cli with npx.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p vipps-cli -p vipps-bench
echo "# vipps-bench on $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d)"
./target/release/vipps-bench --emulator-bin ./target/release/vipps "$@"

if command -v node >/dev/null && command -v npm >/dev/null; then
  (cd bench/node && npm install --no-audit --no-fund --silent >/dev/null)
  ./target/release/vipps emulator --port 0 > /tmp/vipps-bench-emu.out 2>/dev/null &
  EMU_PID=$!
  trap 'kill $EMU_PID 2>/dev/null || true' EXIT
  for _ in $(seq 50); do grep -q listening /tmp/vipps-bench-emu.out 2>/dev/null && break; sleep 0.1; done
  EMU_URL=$(sed -n 's/^listening on //p' /tmp/vipps-bench-emu.out)
  echo
  (cd bench/node && EMU_URL="$EMU_URL" node --require ./preload.cjs bench.mjs "$@")
  kill $EMU_PID 2>/dev/null || true
else
  echo "(node/npm not found: the official Node SDKs were not measured)"
fi
