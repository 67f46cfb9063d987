#!/usr/bin/env bash
# Runs conformance/node-sdk.mjs: the official Node SDK @vippsmobilepay/sdk against a fresh
# emulator. Needs Node and npm (the SDK is installed into bench/node, as bench/run.sh does).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=$(mktemp -d)
trap 'kill ${emu_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
if [ ! -d "$root/bench/node/node_modules/@vippsmobilepay/sdk" ]; then
  (cd "$root/bench/node" && npm install --silent --no-audit --no-fund >/dev/null)
fi
(cd "$root" && cargo build --release --quiet --bin vipps)
VIPPS_LOG=error "$root/target/release/vipps" emulator --port 0 >"$work/emu.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do grep -q listening "$work/emu.out" && break; sleep 0.05; done
base=$(grep -o 'http://[^ ]*' "$work/emu.out" | head -1)
# node-sdk.mjs lives here but imports the SDK from bench/node: run it from there.
cp "$here/node-sdk.mjs" "$root/bench/node/.conformance-node-sdk.mjs"
trap 'kill ${emu_pid:-} 2>/dev/null || true; rm -rf "$work" "$root/bench/node/.conformance-node-sdk.mjs"' EXIT
EMU_URL=${base%/} node --require "$root/bench/node/preload.cjs" "$root/bench/node/.conformance-node-sdk.mjs"
