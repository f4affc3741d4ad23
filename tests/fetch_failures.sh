#!/bin/sh
# SPDX-License-Identifier: MIT
# Each way the test server can fail ends as the Bulk Data and SMART specs say:
# a successful retry (same partial as extract) or a clear error with no
# partial written, the export deleted, and no server text repeated.
. "${top_srcdir:-$(dirname "$0")/..}/tests/fetch_lib.sh"
make_pki
expected_partial

# recovers MODE: the fetch succeeds despite the failure.
recovers() {
    start_server "$fixture" --polls 1 --fail "$1"
    fetch "$1" --key "$pki/es.pem"
    expect_ok "$1"
    deleted || fail "$1: the export was not deleted"
    stop_server
}
# fails MODE STATUS PATTERN [fetch options]
fails() {
    mode=$1 status=$2 pattern=$3
    shift 3
    start_server "$fixture" --polls 1 --fail "$mode"
    fetch "$mode" --key "$pki/es.pem" "$@"
    expect_fail "$mode" "$status" "$pattern"
    deleted || fail "$mode: the export was not deleted"
    grep -q 'the export was deleted on the server' "$scratch/$mode.err" ||
        fail "$mode: the deletion was not reported"
    stop_server
}

# Tokens that expire (2 s) are renewed before they do.
recovers expire-token
[ "$(grep -c '^TOKEN issued' "$log")" -ge 2 ] || fail "expire-token: the token was not renewed"
grep -q '^UNAUTHORISED' "$log" && fail "expire-token: an expired token was used"

# A token revoked early: 401, then a new token and the same request again.
recovers revoke-token
grep -q '^UNAUTHORISED status revoked token' "$log" || fail "revoke-token: $(cat "$log")"
[ "$(grep -c '^TOKEN issued' "$log")" -ge 2 ] || fail "revoke-token: no new token"

recovers transient-500
grep -q '500 transient' "$log" || fail "transient-500: no transient error was served"
recovers 429:3
[ "$(grep -c ' 429$' "$log")" -eq 3 ] || fail "429:3: $(cat "$log")"

fails 429-storm 6 'gave up after 2 retries: HTTP 429, OperationOutcome issue code throttled' \
    --max-retries 2
[ "$(grep -c ' 429$' "$log")" -eq 3 ] || fail "429-storm: not 1 try + 2 retries"
fails status-500 6 'status: the export failed: HTTP 500, OperationOutcome issue code processing'
fails truncate 6 'Patient output 1: truncated download'
fails truncate-close 6 'Patient output 1:[0-9]+: truncated download: the last line has no end'
fails count-mismatch 6 'Patient output 1: the file has 10 resources but the manifest says 11'
fails error-file 6 'the server reported 1 export error \(issue code processing\)'
grep -q '^DOWNLOAD .*file=Patient' "$log" && fail "error-file: data was read from a failed export"
fails bad-manifest 3 'manifest: requiresAccessToken: missing or not a boolean'
fails unrequested-type 3 'manifest: output\[4\]: type Encounter was not requested'
echo "fetch_failures: ok"
