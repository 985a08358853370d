#!/usr/bin/env bash
# Runs `argus test traceql` on the shared TraceQL parser corpus with the baseline ratchet.
# Usage: run_corpus.sh ARGUS_BIN CORPUS_FILE BASELINE_FILE. Exits 77 (CTest skip) when the
# shared conformance folder is absent.
set -u
argus_bin=$1 corpus=$2 baseline=$3
if [[ ! -f "$corpus" ]]; then
  echo "SKIP: $corpus not found (the shared conformance corpora live in ../shared/conformance)"
  exit 77
fi
exec "$argus_bin" test traceql "$corpus" --baseline "$baseline"
