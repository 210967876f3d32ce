#!/usr/bin/env bash
# Runs the vitest suite and prints a closing 'N passed, N failed' line.
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@"
rc=$?
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + (r.numTodoTests || 0)} skipped`);
' "$report" || true
rm -f "$report"
exit $rc
