#!/usr/bin/env bash
# Measures GET payment and POST create with wrk (C, from Debian's package `wrk`) at 32 connections
# on one wrk thread, and writes KEY=VALUE lines for bench/run.sh.
#   bench/wrk/measure.sh BASE_URL TOKEN GET_REF SECONDS RESULT_FILE
set -euo pipefail
base=$1 token=$2 ref=$3 secs=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/wrk/common.sh
. "$here/common.sh"
epayment_headers "$token"
get_url="$base/epayment/v1/payments/$ref"
wrk -t1 -c32 -d2s "${H[@]}" "$get_url" > /dev/null                       # warm-up
wrk -t1 -c32 -d"${secs}s" --latency "${H[@]}" "$get_url" | parse WRK_GET > "$out"
WRK_TOKEN=$token WRK_RUN="w$RANDOM$RANDOM" wrk -t1 -c32 -d"${secs}s" --latency -s "$here/create.lua" "$base" | parse WRK_POST >> "$out"
