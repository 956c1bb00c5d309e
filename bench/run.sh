#!/usr/bin/env bash
# Runs every benchmark and prints its table.  Figures only: nothing is asserted.
set -eu
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."
echo "== engine replay (bench/engine_replay.c) =="
"$BUILD"/bench/engine_replay "${NQ_BENCH_PASSES:-8}" "${NQ_BENCH_ROUNDS:-5}"
