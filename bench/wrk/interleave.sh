#!/usr/bin/env bash
# GET payment on two servers that are up at the same time, measured with wrk in alternating
# rounds (A B B A A B …), so that the machine's drift, which moves a single 10-second figure by
# 20 % and more on this shared VM, hits both sides alike. Prints one line per pair of rounds
# and then MEDIAN, LOW and HIGH of the per-pair ratios A ÷ B (the upper middle value for an
# even count, as vipps-bench does). A round in which wrk fails or a request fails counts as
# n/a and is left out.
#   bench/wrk/interleave.sh A_URL B_URL TOKEN GET_REF ROUNDS SECONDS
# Both servers must accept the same token (Prism accepts any bearer token).
set -euo pipefail
a=$1 b=$2 token=$3 ref=$4 rounds=$5 secs=$6
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/wrk/common.sh
. "$here/common.sh"
# shellcheck source=bench/median.sh
. "$here/../median.sh"
epayment_headers "$token"
rps() { # $1 base URL, $2 seconds: GET payment requests/s, or 0 when wrk or any request failed
  local out
  out=$(wrk -t1 -c32 -d"$2s" "${H[@]}" "$1/epayment/v1/payments/$ref" 2>/dev/null | parse R) || { echo 0; return; }
  if [ "$(sed -n 's/^R_FAILED=//p' <<< "$out")" = 0 ]; then sed -n 's/^R_RPS=//p' <<< "$out"; else echo 0; fi
}
# Warm-up: Prism's JavaScript needs a few seconds under load before it reaches its speed.
rps "$a" 3 > /dev/null
rps "$b" 3 > /dev/null
ratios=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then ra=$(rps "$a" "$secs"); rb=$(rps "$b" "$secs"); else rb=$(rps "$b" "$secs"); ra=$(rps "$a" "$secs"); fi
  q=$(awk -v x="${ra:-0}" -v y="${rb:-0}" 'BEGIN { if (x > 0 && y > 0) printf "%.1f", x / y; else print "n/a" }')
  echo "| $r | $ra | $rb | $q× |"
  if [ "$q" != n/a ]; then ratios+=("$q"); fi
done
if [ ${#ratios[@]} -gt 0 ]; then printf '%s\n' "${ratios[@]}" | median_low_high; fi
