#!/bin/sh
# Runs each test program in $CX_TESTS from the repo root; prints one summary line.
pass=0; fail=0; failed=""
for t in $CX_TESTS; do
  if "$t"; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $t"; fi
done
[ -n "$failed" ] && echo "FAILED:$failed"
echo "test-programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
