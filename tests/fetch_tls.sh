#!/bin/sh
# SPDX-License-Identifier: MIT
# TLS is always verified: a server whose certificate the client does not
# trust is refused before any credential is sent, and there is no way to
# switch verification off.
. "${top_srcdir:-$(dirname "$0")/..}/tests/fetch_lib.sh"
make_pki

server_cert="$pki/untrusted.pem" server_key="$pki/untrusted.key" start_server "$fixture"
fetch untrusted --key "$pki/es.pem"
expect_fail untrusted 6 'TLS with https://127.0.0.1:[0-9]+/fhir/.well-known/smart-configuration failed'
grep -qE '^(TOKEN|KICKOFF)' "$log" && fail "untrusted: credentials were sent"
stop_server

# The test CA is not a system CA: without --ca the real server is refused too.
start_server "$fixture"
"$report" fetch --fhir "$base" --group "$practice" --client-id "$client" --key "$pki/es.pem" \
    --practice "$practice" --period "$period" --signing-key "$scratch/sign.pem" \
    -o "$scratch/noca.partial" \
    > "$scratch/noca.out" 2> "$scratch/noca.err"
rc=$?
no_secrets noca
expect_fail noca 6 'TLS with .* failed: .*system CAs'
grep -qE '^(TOKEN|KICKOFF)' "$log" && fail "noca: credentials were sent"
stop_server

# Plain http is refused, and so is any attempt to turn verification off.
base="http://127.0.0.1:9/fhir"
fetch http --key "$pki/es.pem"
expect_fail http 2 'https'
for opt in --insecure -k --no-verify; do
    "$report" fetch "$opt" --help > /dev/null 2>&1 && fail "$opt was accepted"
done
"$report" fetch --help | grep -qiE 'insecure|no-verify' && fail "--help offers to skip TLS checks"
echo "fetch_tls: ok"
