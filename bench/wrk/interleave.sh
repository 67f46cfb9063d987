#!/usr/bin/env bash
# GET payment on two servers that are up at the same time, measured with wrk in alternating
# rounds (A B B A A B …), so that the machine's drift, which moves a single 10-second figure by
# 20 % and more on this shared VM, hits both sides alike. Prints one line per pair of rounds
# and then the median of the per-pair ratios A ÷ B.
#   bench/wrk/interleave.sh A_URL B_URL TOKEN GET_REF ROUNDS SECONDS
# Both servers must accept the same token (Prism accepts any bearer token).
set -euo pipefail
a=$1 b=$2 token=$3 ref=$4 rounds=$5 secs=$6
H=(-H "Authorization: Bearer $token" -H "Ocp-Apim-Subscription-Key: 0f14ebcab0eb4b29ae0cb90d91b4a84a" -H "Merchant-Serial-Number: 123456")
rps() { # $1 base URL, $2 seconds: GET payment requests/s (0 when any request failed)
  wrk -t1 -c32 -d"$2s" "${H[@]}" "$1/epayment/v1/payments/$ref" |
    awk '/Requests\/sec:/ { r = $2 } /Non-2xx or 3xx responses:|Socket errors:/ { bad = 1 } END { print (bad ? 0 : r + 0) }'
}
# Warm-up: Prism's JavaScript needs a few seconds under load before it reaches its speed.
rps "$a" 3 > /dev/null
rps "$b" 3 > /dev/null
ratios=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then ra=$(rps "$a" "$secs"); rb=$(rps "$b" "$secs"); else rb=$(rps "$b" "$secs"); ra=$(rps "$a" "$secs"); fi
  q=$(awk -v x="$ra" -v y="$rb" 'BEGIN { if (y > 0) printf "%.1f", x / y; else print "n/a" }')
  echo "| $r | $ra | $rb | $q× |"
  [ "$q" != n/a ] && ratios+=("$q")
done
if [ ${#ratios[@]} -gt 0 ]; then
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "MEDIAN=%s\nLOW=%s\nHIGH=%s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
fi
