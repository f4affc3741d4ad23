#!/bin/sh
# SPDX-License-Identifier: MIT
# Ctrl-C while the export is being prepared: the client deletes the export on
# the server, exits 130 and writes no partial.
. "${top_srcdir:-$(dirname "$0")/..}/tests/fetch_lib.sh"
make_pki
start_server "$fixture" --polls 100000
"$report" fetch --fhir "$base" --group "$practice" --client-id "$client" \
    --key "$pki/es.pem" --ca "$pki/ca.pem" --practice "$practice" --period "$period" \
    --signing-key "$scratch/sign.pem" \
    -o "$scratch/int.partial" > "$scratch/int.out" 2> "$scratch/int.err" &
pid=$!
i=0
until grep -q '^STATUS job=' "$log"; do
    i=$((i + 1))
    [ $i -lt 600 ] || fail "the client never polled: $(cat "$scratch/int.err")"
    sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
no_secrets int
expect_fail int 130 'interrupted'
grep -q '^DELETE job=' "$log" || fail "the interrupted export was not deleted: $(cat "$log")"
grep -q 'the export was deleted on the server' "$scratch/int.err" || fail "deletion not reported"
stop_server
echo "fetch_interrupt: ok"
