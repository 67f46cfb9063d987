# Shared by the interleaving scripts (sourced, not run).

# MEDIAN, LOW and HIGH of the numbers on stdin, one per line, as KEY=VALUE lines (the upper
# middle value for an even count, as vipps-bench does). Nothing when stdin is empty.
median_low_high() {
  sort -n | awk '{ v[NR] = $1 } END { if (NR > 0) printf "MEDIAN=%s\nLOW=%s\nHIGH=%s\n", v[int(NR / 2) + 1], v[1], v[NR] }'
}
