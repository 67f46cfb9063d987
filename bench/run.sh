#!/usr/bin/env bash
# Runs every benchmark and prints the tables BENCHMARKS.md reports.
#   bash bench/run.sh            # full run
#   bash bench/run.sh --quick    # a tenth of the requests, no 1M-payment step
# The Node part installs the official SDKs from npm into bench/node (needs node and npm);
# the Prism part runs @stoplight/prism-cli@5 with npx against the official ePayment spec, taken from
# $PRISM_SPEC or else ../shared/specs/epayment-v1.yaml (relative to the repository root).
# Where wrk is installed (Debian: apt-get install wrk), the emulator and Prism are also measured
# with it (bench/wrk/measure.sh): a C load generator that needs far less CPU than ours, so more of
# the two shared cores go to the server under test.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p vipps-cli -p vipps-bench
# Waits (up to 5 s) for a server started in the background to write `listening on URL` to the
# file $1, and prints the URL.
listening_url() {
  for _ in $(seq 50); do grep -q listening "$1" 2>/dev/null && break; sleep 0.1; done
  sed -n 's/^listening on //p' "$1"
}
echo "# vipps-bench on $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d)"
./target/release/vipps-bench --emulator-bin ./target/release/vipps "$@"
# Recurring: a month of active monthly agreements (100,000; 10,000 with --quick).
RECURRING_N=100000
for a in "$@"; do [ "$a" = --quick ] && RECURRING_N=10000; done
echo
./target/release/vipps-bench recurring --emulator-bin ./target/release/vipps --agreements $RECURRING_N

if command -v node >/dev/null && command -v npm >/dev/null; then
  (cd bench/node && npm install --no-audit --no-fund --silent >/dev/null)
  # VIPPS_LOG=error as everywhere else here: no per-request log line for the Node runs either.
  # Pinned like the Rust SDK-vs-raw comparison (emulator on CPU 0, the client on CPU 1), where
  # taskset is there and there are two CPUs.
  PIN_EMU=() PIN_CLIENT=()
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_EMU=(taskset -c 0) PIN_CLIENT=(taskset -c 1); fi
  VIPPS_LOG=error "${PIN_EMU[@]}" ./target/release/vipps emulator --port 0 > /tmp/vipps-bench-emu.out 2>/dev/null &
  EMU_PID=$!
  trap 'kill $EMU_PID 2>/dev/null || true' EXIT
  EMU_URL=$(listening_url /tmp/vipps-bench-emu.out)
  echo
  [ ${#PIN_CLIENT[@]} -gt 0 ] && echo "(pinned with taskset: the emulator on CPU 0, Node on CPU 1)"
  (cd bench/node && EMU_URL="$EMU_URL" "${PIN_CLIENT[@]}" node --require ./preload.cjs bench.mjs "$@")
  # The 6x target's ratio, measured fairly: our SDK and @vippsno/vipps-sdk in alternating rounds
  # on the same emulator, each client on CPU 1 (bench/node/interleave.sh).
  NODE_ROUNDS=7 NODE_N=30000 RUST_N=80000
  for a in "$@"; do [ "$a" = --quick ] && NODE_ROUNDS=3 NODE_N=4000 RUST_N=10000; done
  echo
  echo "## Our SDK ÷ @vippsno/vipps-sdk, concurrency 32, $NODE_ROUNDS alternating rounds (fresh processes, each client on CPU 1)"
  bash bench/node/interleave.sh "$EMU_URL" $NODE_ROUNDS $NODE_N $RUST_N
  kill $EMU_PID 2>/dev/null || true
else
  echo "(node/npm not found: the official Node SDKs were not measured)"
fi

# The emulator target's own condition: GET at a fixed 40,000 req/s over 32 connections, with the
# latency corrected for coordinated omission (oha, from crates.io: cargo install oha --locked).
if command -v oha >/dev/null; then
  OHA_SECS=10
  for a in "$@"; do [ "$a" = --quick ] && OHA_SECS=3; done
  VIPPS_LOG=error ./target/release/vipps emulator --port 0 > /tmp/vipps-bench-oha.out 2>/dev/null &
  OHA_EMU=$!
  OHA_URL=$(listening_url /tmp/vipps-bench-oha.out)
  OHA_TOKEN=$(./target/release/vipps-bench target --base-url "$OHA_URL" --fetch-token \
      --seed '{"payments":1,"prefix":"prismcmp","authorized":true}' --requests 1000 --post-requests 0 \
      --warmup 100 --result-file /tmp/vipps-bench-oha.env > /dev/null && sed -n 's/^TOKEN=//p' /tmp/vipps-bench-oha.env)
  echo
  echo "## Emulator GET at a fixed rate (oha $(oha --version | cut -d' ' -f2), 32 connections, ${OHA_SECS} s each, latency-corrected)"
  echo
  echo "| rate asked | rate served | p50 ms | p90 ms | p99 ms | p99.9 ms | success |"
  echo "|---|---|---|---|---|---|---|"
  for q in 20000 40000 60000; do
    oha --no-tui -c 32 -q $q --latency-correction -z ${OHA_SECS}s \
      -H "Authorization: Bearer $OHA_TOKEN" -H "Ocp-Apim-Subscription-Key: 0f14ebcab0eb4b29ae0cb90d91b4a84a" \
      -H "Merchant-Serial-Number: 123456" "$OHA_URL/epayment/v1/payments/prismcmp-00000000" |
      awk -v q=$q '/Success rate:/ {ok=$3} /Requests\/sec:/ {r=$2} $1=="50.00%" {a=$3} $1=="90.00%" {b=$3} $1=="99.00%" {c=$3} $1=="99.90%" {d=$3}
        END {printf "| %d | %.0f | %.2f | %.2f | %.2f | %.2f | %s |\n", q, r, a, b, c, d, ok}'
  done
  kill $OHA_EMU 2>/dev/null || true
else
  echo; echo "(oha not found: the fixed-rate latency run was skipped; cargo install oha --locked)"
fi

# Prism serving the official ePayment spec, against a fresh emulator, with the same load generator.
PRISM_SPEC=${PRISM_SPEC:-../shared/specs/epayment-v1.yaml}
QUICK=0
for a in "$@"; do [ "$a" = --quick ] && QUICK=1; done
EMU_GET=50000 EMU_POST=20000 PRISM_GET=10000 PRISM_POST=5000 WRK_SECS=10
if [ $QUICK = 1 ]; then EMU_GET=5000 EMU_POST=2000 PRISM_GET=1000 PRISM_POST=500 WRK_SECS=2; fi
HAVE_WRK=0
command -v wrk >/dev/null && HAVE_WRK=1
wrk_measure() { # $1 result name, $2 base URL: wrk figures into $WORK/$1.wrk (token from $WORK/$1.env)
  [ $HAVE_WRK = 1 ] || return 0
  local token
  token=$(sed -n 's/^TOKEN=//p' "$WORK/$1.env")
  bash bench/wrk/measure.sh "$2" "$token" prismcmp-00000000 $WRK_SECS "$WORK/$1.wrk"
}
kill_tree() { # $1 and its descendants (npx → sh → node), children first
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
  kill "$1" 2>/dev/null || true
}
accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! command -v npx >/dev/null; then
  echo; echo "(npx not found: Prism was not measured)"
elif [ ! -f "$PRISM_SPEC" ]; then
  echo; echo "(spec not found at $PRISM_SPEC, set PRISM_SPEC: Prism was not measured)"
else
  WORK=$(mktemp -d)
  # Every Prism (a process tree: npx → sh → node) and emulator started from here on, for the
  # one exit trap; killing one that already ended does nothing.
  PRISM_PIDS=() EMU_PIDS=()
  trap 'kill ${EMU_PID:-} 2>/dev/null || true; for p in "${PRISM_PIDS[@]}"; do kill_tree $p; done; for p in "${EMU_PIDS[@]}"; do kill $p 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
  # The spec's Receipt schema is a $ref to the order-management spec on raw.githubusercontent.com;
  # point it at the local copy next to the spec when there is one, so Prism starts offline.
  SPEC_DIR=$(cd "$(dirname "$PRISM_SPEC")" && pwd)
  OM_URL=https://raw.githubusercontent.com/vippsas/vipps-order-management-api/2.3.24/docs/swagger.yaml
  if [ -f "$SPEC_DIR/order-management-2.3.24.yaml" ]; then
    sed "s#$OM_URL#$SPEC_DIR/order-management-2.3.24.yaml#" "$PRISM_SPEC" > "$WORK/epayment-v1.yaml"
  else
    cp "$PRISM_SPEC" "$WORK/epayment-v1.yaml"
  fi
  # Fetch the package first, so that the start-up time below does not include the download.
  PRISM_VERSION=$(npx -y @stoplight/prism-cli@5 --version 2>/dev/null | tail -1)
  prism_START_MS= quiet_START_MS=
  # Starts Prism on a free port in the background, with the log in $1 and the further args as
  # its options; sets SPAWNED_PID and SPAWNED_URL. Returns 1 when it is not accepting
  # connections within 60 s (or has exited).
  spawn_prism() {
    local log=$1 port= p up=0; shift
    for _ in $(seq 100); do
      p=$((20000 + RANDOM % 40000))
      if ! accepting $p; then port=$p; break; fi
    done
    npx -y @stoplight/prism-cli@5 mock -p "$port" -h 127.0.0.1 "$@" "$WORK/epayment-v1.yaml" > "$log" 2>&1 &
    SPAWNED_PID=$!
    PRISM_PIDS+=("$SPAWNED_PID")
    SPAWNED_URL=http://127.0.0.1:$port
    for _ in $(seq 3000); do
      if accepting "$port"; then up=1; break; fi
      kill -0 "$SPAWNED_PID" 2>/dev/null || break
      sleep 0.02
    done
    [ $up = 1 ]
  }
  # Starts the emulator in the background, writing $WORK/$1.out and $WORK/$1.log, with
  # VIPPS_LOG=$2 ("" for its default); sets SPAWNED_PID and SPAWNED_URL.
  spawn_emulator() {
    if [ -n "$2" ]; then
      VIPPS_LOG=$2 ./target/release/vipps emulator --port 0 > "$WORK/$1.out" 2> "$WORK/$1.log" &
    else
      env -u VIPPS_LOG ./target/release/vipps emulator --port 0 > "$WORK/$1.out" 2> "$WORK/$1.log" &
    fi
    SPAWNED_PID=$!
    EMU_PIDS+=("$SPAWNED_PID")
    SPAWNED_URL=$(listening_url "$WORK/$1.out")
  }
  # Two Prism runs: as started by default (logs every request at info level) and with
  # `-v error` (no per-request logging, like the emulator below under VIPPS_LOG=error).
  run_prism() { # $1 result name, $2 label, further args: extra prism options
    local name=$1 label=$2 t0 ms up=1; shift 2
    t0=$(date +%s%N)
    spawn_prism "$WORK/$name.log" "$@" || up=0
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    eval "${name}_START_MS=$ms"
    echo
    if [ $up = 0 ]; then
      echo "($label did not start; its log:)"; tail -20 "$WORK/$name.log"
      kill_tree "$SPAWNED_PID"
      return 1
    fi
    echo "$label start-up (spawn → port accepting connections): $ms ms"
    echo
    ./target/release/vipps-bench target --label "$label" --base-url "$SPAWNED_URL" \
      --get-ref prismcmp-00000000 --requests $PRISM_GET --post-requests $PRISM_POST \
      --pid "$SPAWNED_PID" --result-file "$WORK/$name.env"
    wrk_measure "$name" "$SPAWNED_URL"
    kill_tree "$SPAWNED_PID"
  }
  UP=0
  if run_prism prism "Prism $PRISM_VERSION" && run_prism quiet "Prism $PRISM_VERSION -v error" -v error; then UP=1; fi
  if [ $UP = 1 ]; then
    # The emulator twice, like Prism: as started by default (it logs every request at info,
    # here to a file as Prism's log is) and with VIPPS_LOG=error (no per-request log line).
    run_emulator() { # $1 result name, $2 label, $3 VIPPS_LOG value ("" for the default)
      local name=$1 label=$2
      spawn_emulator "$name" "$3"
      ./target/release/vipps-bench target --label "$label" --base-url "$SPAWNED_URL" --fetch-token \
        --seed '{"payments":1,"prefix":"prismcmp","authorized":true}' \
        --get-ref prismcmp-00000000 --requests $EMU_GET --post-requests $EMU_POST \
        --pid "$SPAWNED_PID" --result-file "$WORK/$name.env"
      wrk_measure "$name" "$SPAWNED_URL"
      kill "$SPAWNED_PID" 2>/dev/null || true
    }
    run_emulator emulog "Emulator (default log level)" ""
    run_emulator emu "Emulator (VIPPS_LOG=error)" error
    # The machine's ceiling: an axum server that does nothing but answer a fixed payment JSON,
    # under the same load generators.
    ./target/release/vipps-bench trivial-server > "$WORK/triv.out" 2>/dev/null &
    EMU_PIDS+=($!)
    TRIV_URL=$(listening_url "$WORK/triv.out")
    ./target/release/vipps-bench target --label "Do-nothing axum server" --base-url "$TRIV_URL" \
      --requests $EMU_GET --post-requests $EMU_POST --result-file "$WORK/triv.env" > /dev/null
    wrk_measure triv "$TRIV_URL"
    kill "${EMU_PIDS[-1]}" 2>/dev/null || true
    P() { sed -n "s/^$2=//p" "$WORK/$1.env" 2>/dev/null; }
    W() { sed -n "s/^$2=//p" "$WORK/$1.wrk" 2>/dev/null; }
    # A count for the sums below: 0 when a run left no figure (so the report still prints).
    PN() { local v; v=$(P "$@"); echo "${v:-0}"; }
    WN() { local v; v=$(W "$@"); echo "${v:-0}"; }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "n/a" }'; }
    # One table per load generator: $1 = P or W (figure source), $2 = N-suffixed count source.
    table() {
      local F=$1 N=$2
      echo "| measure | emulator (default log) | emulator (\`VIPPS_LOG=error\`) | Prism (default) | Prism \`-v error\` | emulator ÷ Prism, like for like (default ÷ default / quiet ÷ quiet) |"
      echo "|---|---|---|---|---|---|"
      echo "| GET payment req/s | $($F emulog GET_RPS) | $($F emu GET_RPS) | $($F prism GET_RPS) | $($F quiet GET_RPS) | **$(ratio "$($F emulog GET_RPS)" "$($F prism GET_RPS)") / $(ratio "$($F emu GET_RPS)" "$($F quiet GET_RPS)")** |"
      echo "| GET payment p50 / p99 µs | $($F emulog GET_P50_US) / $($F emulog GET_P99_US) | $($F emu GET_P50_US) / $($F emu GET_P99_US) | $($F prism GET_P50_US) / $($F prism GET_P99_US) | $($F quiet GET_P50_US) / $($F quiet GET_P99_US) | |"
      echo "| POST create req/s | $($F emulog POST_RPS) | $($F emu POST_RPS) | $($F prism POST_RPS) | $($F quiet POST_RPS) | $(ratio "$($F emulog POST_RPS)" "$($F prism POST_RPS)") / $(ratio "$($F emu POST_RPS)" "$($F quiet POST_RPS)") |"
      if [ "$F" = P ]; then
        echo "| POST create p50 / p99 µs | $(P emulog POST_P50_US) / $(P emulog POST_P99_US) | $(P emu POST_P50_US) / $(P emu POST_P99_US) | $(P prism POST_P50_US) / $(P prism POST_P99_US) | $(P quiet POST_P50_US) / $(P quiet POST_P99_US) | |"
      fi
      echo "| non-2xx or failed (GET + POST) | $(( $($N emulog GET_FAILED) + $($N emulog POST_FAILED) )) | $(( $($N emu GET_FAILED) + $($N emu POST_FAILED) )) | $(( $($N prism GET_FAILED) + $($N prism POST_FAILED) )) | $(( $($N quiet GET_FAILED) + $($N quiet POST_FAILED) )) | |"
      echo "| GET req/s of a do-nothing axum server (this machine's ceiling) | | $($F triv GET_RPS) | | | ÷ Prism: $(ratio "$($F triv GET_RPS)" "$($F prism GET_RPS)") / $(ratio "$($F triv GET_RPS)" "$($F quiet GET_RPS)") |"
    }
    # Our load generator's keys are GET_RPS …; wrk's are WRK_GET_RPS …: map them.
    WG() { W "$1" "WRK_$2"; }
    WGN() { WN "$1" "WRK_$2"; }
    echo "## Emulator vs Prism ($PRISM_VERSION), 32 concurrent connections, our load generator"
    echo
    table P PN
    echo "| RSS after the load, KiB (process tree; largest process) | $(P emulog RSS_TREE_KIB) | $(P emu RSS_TREE_KIB) | $(P prism RSS_TREE_KIB); $(P prism RSS_MAX_KIB) | $(P quiet RSS_TREE_KIB); $(P quiet RSS_MAX_KIB) | |"
    echo "| start-up, spawn → accepting connections | see \"Emulator start-up\" above | | $prism_START_MS ms | $quiet_START_MS ms | |"
    if [ $HAVE_WRK = 1 ]; then
      echo
      echo "## The same with wrk ($(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)) as the load generator: 1 thread, 32 connections, ${WRK_SECS} s each"
      echo
      table WG WGN
      echo
      echo "(POST latencies from wrk are left out: with a Lua request function its latency figures break"
      echo "Little's law — their mean times the rate exceeds the 32 requests in flight — so the POST"
      echo "latencies above, from our own load generator, are the ones to read.)"
      # The figures above come from one measurement per server, a minute apart; on this shared
      # VM the machine's speed drifts by 20 % and more in that time. Here each pair is up at the
      # same time and measured in alternating rounds, and the ratio is the median over the pairs.
      ROUNDS=7 ROUND_SECS=3
      [ $QUICK = 1 ] && ROUNDS=3 ROUND_SECS=1
      # $1 variable for the URL (left empty when Prism does not start), further args: options.
      start_prism() {
        local var=$1; shift
        if spawn_prism "$WORK/prism-$var.log" "$@"; then printf -v "$var" %s "$SPAWNED_URL"; fi
      }
      start_emulator() { # $1 variable for the URL, $2 VIPPS_LOG value ("" for the default)
        spawn_emulator "emu-$1" "$2"
        printf -v "$1" %s "$SPAWNED_URL"
        ./target/release/vipps-bench target --base-url "$SPAWNED_URL" --fetch-token \
          --seed '{"payments":1,"prefix":"prismcmp","authorized":true}' --requests 100 --post-requests 0 \
          --warmup 0 --result-file "$WORK/emu-$1.env" > /dev/null
      }
      P_DEF= P_QUIET= E_DEF= E_QUIET=
      start_prism P_DEF; start_prism P_QUIET -v error
      start_emulator E_DEF ""; start_emulator E_QUIET error
      if [ -n "$P_DEF" ] && [ -n "$P_QUIET" ]; then
        echo
        echo "## Emulator ÷ Prism under wrk, interleaved: both up at once, $ROUNDS alternating rounds of ${ROUND_SECS} s"
        for pair in "E_DEF P_DEF emulator (default log) ÷ Prism (default)" "E_QUIET P_QUIET emulator (\`VIPPS_LOG=error\`) ÷ Prism \`-v error\`"; do
          read -r ea pa label <<< "$pair"
          echo
          echo "$label:"
          echo
          echo "| round | emulator GET req/s | Prism GET req/s | ratio |"
          echo "|---|---|---|---|"
          bash bench/wrk/interleave.sh "${!ea}" "${!pa}" "$(sed -n 's/^TOKEN=//p' "$WORK/emu-$ea.env")" \
            prismcmp-00000000 $ROUNDS $ROUND_SECS > "$WORK/il.txt" || true
          grep '^|' "$WORK/il.txt" || true
          echo
          if grep -q '^MEDIAN=' "$WORK/il.txt"; then
            echo "median $(sed -n 's/^MEDIAN=//p' "$WORK/il.txt")× (pairs $(sed -n 's/^LOW=//p' "$WORK/il.txt")–$(sed -n 's/^HIGH=//p' "$WORK/il.txt")×)"
          else
            echo "median n/a (no round had both servers answer every request)"
          fi
        done
      else
        echo; echo "(Prism did not start twice: the interleaved comparison was skipped)"
      fi
    else
      echo; echo "(wrk not found: the wrk comparison was skipped; apt-get install wrk)"
    fi
  fi
fi
