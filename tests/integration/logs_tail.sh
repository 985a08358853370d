#!/usr/bin/env bash
# File tailing with log_sources and pipeline stages on real logs: copies of loghub samples
# (../shared/data/loghub relative to the repo), each with a timestamp stage for its own format
# (Go layouts, Unix, a location), one rotated by rename, one truncated and one gzip-compressed.
# query_range must then return exactly the lines of each file with the parsed timestamps, and
# a line filter exactly what `grep -F` finds; a restart must not read anything twice.
# Skips when the samples are absent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
itest_init logs_tail

data="$ITEST_LIB_DIR/../../../shared/data/loghub"
[ -d "$data" ] || skip "loghub samples not found at $data"
need_cmd python3 "Python 3"

dir="$ITEST_TMP/tail"
mkdir -p "$dir"
# A last line without its newline waits for it (as Promtail does), so end each copy with one.
copy() { { cat "$data/$1"; echo; } >"$2"; }
copy Apache_2k.log "$dir/apache.log"
copy BGL_2k.log "$dir/bgl.log"
copy Thunderbird_2k.log "$dir/thunderbird.log"
copy OpenStack_2k.log "$dir/openstack.log"
{ cat "$data/HDFS_2k.log"; echo; } | gzip -c >"$dir/hdfs.log.gz"
copy Hadoop_2k.log "$ITEST_TMP/hadoop.full"
copy Spark_2k.log "$ITEST_TMP/spark.full"
head -n 1000 "$ITEST_TMP/hadoop.full" >"$dir/hadoop.log"
head -n 1000 "$ITEST_TMP/spark.full" >"$dir/spark.log"

# source NAME PATH REGEX FORMAT [LOCATION]: one log_sources entry.
source_entry() {
  cat <<YAML
  - paths: ["$2"]
    labels: {job: tail, app: $1}
    pipeline_stages:
      - regex: {expression: '$3'}
      - timestamp: {source: ts, format: '$4'${5:+, location: $5}}
YAML
}
{
  printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\nlog_sources:\n'
  source_entry apache "$dir/apache.log" '^\[(?P<ts>[^\]]+)\]' 'Mon Jan 02 15:04:05 2006'
  source_entry bgl "$dir/bgl.log" '^\S+ \d+ \S+ \S+ (?P<ts>\S+) ' '2006-01-02-15.04.05.000000'
  source_entry thunderbird "$dir/thunderbird.log" '^\S+ (?P<ts>\d+) ' Unix
  source_entry openstack "$dir/openstack.log" '^\S+ (?P<ts>\S+ \S+) ' '2006-01-02 15:04:05.000' Europe/Berlin
  source_entry hadoop "$dir/hadoop.log" '^(?P<ts>\S+ \S+) ' '2006-01-02 15:04:05,000'
  source_entry spark "$dir/spark.log" '^(?P<ts>\S+ \S+) ' '06/01/02 15:04:05'
  source_entry hdfs "$dir/hdfs.log.gz" '^(?P<ts>\S+ \S+) ' '060102 150405'
} >"$ITEST_TMP/argus.yml"

start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
log "argus up on $ARGUS_URL"

check_py() { python3 "$ITEST_LIB_DIR/logs_tail.py" --url "$ARGUS_URL" --data "$data" "$@"; }
# wait_count APP N: waits up to 60 s for APP to have N lines.
wait_count() {
  local got=0
  for _ in $(seq 1 120); do
    got=$(check_py count "$1")
    [ "$got" = "$2" ] && return 0
    sleep 0.5
  done
  fail "$1: $2 lines expected, $got after 60 s"
}
wait_count hadoop 1000
wait_count spark 1000
log "first halves read; rotating hadoop.log by rename and truncating spark.log"
sed -n '1001,1200p' "$ITEST_TMP/hadoop.full" >>"$dir/hadoop.log"  # written just before the rename
mv "$dir/hadoop.log" "$dir/hadoop.log.1"
sed -n '1201,$p' "$ITEST_TMP/hadoop.full" >"$dir/hadoop.log"
truncate -s 0 "$dir/spark.log"
sleep 2.5  # a poll sees the file shorter than its offset (a file refilled past it unseen is not)
sed -n '1001,$p' "$ITEST_TMP/spark.full" >>"$dir/spark.log"
for app in apache bgl thunderbird openstack hdfs; do wait_count "$app" 2000; done
wait_count hadoop 2000
wait_count spark 2000
check "every file's lines with their parsed timestamps, and grep -F's for a filter" check_py check

log "restart: the positions file keeps every file (and the .gz) from being read again"
stop_pid "$ARGUS_PID" TERM
start_argus "$ITEST_TMP/argus-data" --config.file="$ITEST_TMP/argus.yml"
wait_ready "$ARGUS_URL" 60 "$ARGUS_PID"
sleep 3
check "after a restart nothing was read twice" check_py check
