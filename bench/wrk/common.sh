# Shared by the wrk scripts here (sourced, not run).

# "Requests/sec", the 50 % and 99 % latencies in µs, and failed requests (non-2xx plus socket
# errors) as KEY=VALUE lines with the prefix $1. Stdin: wrk --latency output.
parse() {
  awk -v p="$1" '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return (v + 0) * 1000; if (v ~ /s$/) return (v + 0) * 1000000; return v }
    /Requests\/sec:/ { printf "%s_RPS=%.0f\n", p, $2 }
    $1 == "50%" { printf "%s_P50_US=%.0f\n", p, us($2) }
    $1 == "99%" { printf "%s_P99_US=%.0f\n", p, us($2) }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { for (i = 3; i <= NF; i += 2) bad += $(i + 1) }
    END { printf "%s_FAILED=%d\n", p, bad }'
}

# The headers the ePayment spec requires, with the bearer token $1, into the array H.
epayment_headers() {
  H=(-H "Authorization: Bearer $1" -H "Ocp-Apim-Subscription-Key: 0f14ebcab0eb4b29ae0cb90d91b4a84a" -H "Merchant-Serial-Number: 123456")
}
