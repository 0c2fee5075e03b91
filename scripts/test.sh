#!/usr/bin/env bash
# Runs every test file through node's test runner (tsx for TypeScript).
# Node 20 does not expand globs, so the file list is built here; zero files is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
