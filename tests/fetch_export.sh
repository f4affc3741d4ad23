#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-report fetch over the test Bulk Data server gives byte for byte the
# partial cse-report extract gives over the same files, with an ES384 and an
# RS384 client key, with and without pseudonyms; the export is deleted.
. "${top_srcdir:-$(dirname "$0")/..}/tests/fetch_lib.sh"
make_pki
expected_partial

start_server "$fixture" --polls 2
fetch es --key "$pki/es.pem"
expect_ok es
grep -q "^TOKEN issued client=$client alg=ES384 " "$log" || fail "es: no ES384 token: $(cat "$log")"
grep -q 'scope=system/Patient.read system/Flag.read system/Observation.read system/Condition.read' "$log" ||
    fail "es: the scopes asked for were not the narrow ones"
grep -q '^KICKOFF .* types=Patient,Flag,Observation,Condition$' "$log" || fail "es: _type"
grep -q 'retry-after=seconds' "$log" && grep -q 'retry-after=date' "$log" ||
    fail "es: the server did not send both Retry-After forms"
[ "$(grep -c '^DOWNLOAD .* auth=yes gzip=yes$' "$log")" -eq 4 ] ||
    fail "es: expected 4 gzip downloads with the token: $(grep DOWNLOAD "$log")"
deleted || fail "es: the export was not deleted"
[ -s "$scratch/es.err" ] && fail "es: output on a non-terminal stderr: $(cat "$scratch/es.err")"

# On a terminal: progress on stderr, the server's X-Progress shown as
# printable ASCII only (the test server puts a non-ASCII byte in it).
if command -v script >/dev/null 2>&1; then
    script -qec "'$report' fetch --fhir '$base' --group $practice --client-id $client \
        --key '$pki/es.pem' --ca '$pki/ca.pem' --practice $practice --period $period \
        --signing-key '$scratch/sign.pem' \
        -o '$scratch/tty.partial'" /dev/null > "$scratch/tty.err" 2>&1
    rc=$?
    : > "$scratch/tty.out"
    no_secrets tty
    expect_ok tty
    grep -q 'cse-report fetch: waiting exporting [0-9]*% ?' "$scratch/tty.err" ||
        fail "tty: no X-Progress shown: $(od -c "$scratch/tty.err" | head)"
    LC_ALL=C grep -q "$(printf '[\200-\377]')" "$scratch/tty.err" &&
        fail "tty: server bytes reached the terminal unfiltered"
fi

fetch rs --key "$pki/rs.pem" --kid rs-key-1
expect_ok rs
grep -q "^TOKEN issued client=$client alg=RS384 kid=rs-key-1 " "$log" || fail "rs: no RS384 token"

# Pseudonyms: the same 32-byte key gives the same partial both ways.
(umask 077 && printf '%s\n' 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
    > "$scratch/pseudonym.key")
expected_partial --key "$scratch/pseudonym.key" --linkage-key "$scratch/link.pem.pub"
fetch keyed --key "$pki/es.pem" --pseudonym-key "$scratch/pseudonym.key" \
        --linkage-key "$scratch/link.pem.pub"
expect_ok keyed

# A key the server does not know: refused at the token endpoint.
fetch stranger --key "$pki/other.pem"
expect_fail stranger 7 'token request was refused: HTTP 401, invalid_client'
grep -q '^TOKEN rejected unknown kid' "$log" || fail "stranger: $(cat "$log")"

# A private key others can read is not used at all.
cp "$pki/es.pem" "$scratch/open.pem"
chmod 644 "$scratch/open.pem"
fetch open --key "$scratch/open.pem"
expect_fail open 4 'chmod 600'
stop_server

# requiresAccessToken false: the files are fetched without the token.
expected_partial
start_server "$fixture" --polls 1 --fail no-access-token
fetch notoken --key "$pki/es.pem"
expect_ok notoken
grep -q '^LEAK' "$log" && fail "notoken: the token was sent to a file URL"
[ "$(grep -c '^DOWNLOAD .* auth=no ' "$log")" -eq 4 ] || fail "notoken: $(grep DOWNLOAD "$log")"
stop_server

# Informational issues in the manifest's error files do not stop the count.
start_server "$fixture" --polls 1 --fail warning-file
fetch warning --key "$pki/es.pem"
expect_ok warning
grep -q 'the server reported 1 informational issue' "$scratch/warning.err" ||
    fail "warning: $(cat "$scratch/warning.err")"
stop_server
# A larger synthetic practice from `cse-report synth`, when it is built: the
# NDJSON files only (a Bulk Data export has no GP2GP messages).
if "$report" synth --seed 7 --practices 1 --patients 400 -o "$scratch/ics" \
    > /dev/null 2>&1; then
    src=$(dirname "$(ls "$scratch"/ics/*/Patient.ndjson | head -n 1)")
    practice=$(basename "$src")
    data_dir="$scratch/synth"
    mkdir -p "$data_dir/$practice"
    cp "$src"/*.ndjson "$data_dir/$practice/"
    period=2025-10-01..2025-12-31
    expected_partial --key "$scratch/pseudonym.key" --linkage-key "$scratch/link.pem.pub"
    grep -q '"registered_children": [1-9]' "$scratch/expected.partial" ||
        fail "synth: the synthetic practice has no children"
    start_server "$data_dir" --polls 1
    fetch synth --key "$pki/rs.pem" --kid rs-key-1 --pseudonym-key "$scratch/pseudonym.key" \
        --linkage-key "$scratch/link.pem.pub"
    expect_ok synth
    stop_server
else
    echo "fetch_export: cse-report synth unavailable; the fixture practice only" >&2
fi
echo "fetch_export: ok"
