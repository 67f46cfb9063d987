#!/usr/bin/env bash
# Measures GET payment and POST create with wrk (C, from Debian's package `wrk`) at 32 connections
# on one wrk thread, and writes KEY=VALUE lines for bench/run.sh.
#   bench/wrk/measure.sh BASE_URL TOKEN GET_REF SECONDS RESULT_FILE
set -euo pipefail
base=$1 token=$2 ref=$3 secs=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
# "Requests/sec", the 50 % and 99 % latencies in µs, and failed requests (non-2xx plus socket errors).
parse() { # $1 prefix, stdin: wrk --latency output
  awk -v p="$1" '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return (v + 0) * 1000; if (v ~ /s$/) return (v + 0) * 1000000; return v }
    /Requests\/sec:/ { printf "%s_RPS=%.0f\n", p, $2 }
    $1 == "50%" { printf "%s_P50_US=%.0f\n", p, us($2) }
    $1 == "99%" { printf "%s_P99_US=%.0f\n", p, us($2) }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i += 2) bad += $(i + 1) }
    END { printf "%s_FAILED=%d\n", p, bad }'
}
H=(-H "Authorization: Bearer $token" -H "Ocp-Apim-Subscription-Key: 0f14ebcab0eb4b29ae0cb90d91b4a84a" -H "Merchant-Serial-Number: 123456")
get_url="$base/epayment/v1/payments/$ref"
wrk -t1 -c32 -d2s "${H[@]}" "$get_url" > /dev/null                       # warm-up
wrk -t1 -c32 -d"${secs}s" --latency "${H[@]}" "$get_url" | parse WRK_GET > "$out"
WRK_TOKEN=$token WRK_RUN="w$RANDOM$RANDOM" wrk -t1 -c32 -d"${secs}s" --latency -s "$here/create.lua" "$base" | parse WRK_POST >> "$out"
