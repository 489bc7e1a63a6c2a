#!/usr/bin/env bash
# Installs what deadwatch needs to build and test on a fresh Debian machine. Idempotent and
# quiet when everything is present. Packages come from Debian; Maven artifacts from Maven Central.
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v promtool >/dev/null 2>&1 || need+=(prometheus) # promtool and the server for the rule and end-to-end tests
# jemalloc: the benchmark's memory table has a row per native allocator (BENCHMARKS.md), and its test
# runs one with it preloaded
[[ -f /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ]] || need+=(libjemalloc2)

# native LAPACK for the eigensolver: deadwatch opens liblapack.so.3 (through JNA), which OpenBLAS provides
# (update-alternatives picks it over the reference LAPACK). The single-threaded build: the multithreaded
# one (libopenblas0's default) spins its threads against training's, and on a busy machine an
# eigensolve then takes 10 to 20 times longer (docs/library.md, "The eigensolver"). Without it the
# spectra run in pure Java (EJML), up to 20 times slower at a transformer's widths, and the LAPACK
# tests are skipped.
if command -v dpkg-query >/dev/null 2>&1 \
    && ! dpkg-query -W -f='${Status}' libopenblas0-serial 2>/dev/null | grep -q 'ok installed'; then
  if [[ $(id -u) -eq 0 ]]; then
    need+=(libopenblas0-serial)
  else
    echo "deadwatch setup: libopenblas0-serial is not installed (needs root); the eigensolver falls back to EJML" >&2
  fi
fi

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deadwatch setup: missing ${need[*]}; install them (needs root)" >&2
    exit 1
  fi
  echo "deadwatch setup: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [[ "${major:-0}" -lt 17 ]]; then
  echo "deadwatch setup: Java 17 or newer is required, found ${major:-none}" >&2
  exit 1
fi
