#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set up the machine, build every module, run every
# test (unit, known-answer cells in float64 and float32, leak and restore tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
mvn -B -ntp verify "$@"
