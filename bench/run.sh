#!/usr/bin/env bash
# Runs every benchmark and prints the tables BENCHMARKS.md reports.
#   bash bench/run.sh            # full run (about 5 minutes on 2 cores)
#   bash bench/run.sh --quick    # a tenth of the requests, no 1M-payment step
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p vipps-cli -p vipps-bench
echo "# vipps-bench on $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d)"
./target/release/vipps-bench --emulator-bin ./target/release/vipps "$@"
