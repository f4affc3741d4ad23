# SPDX-License-Identifier: MIT
# Sourced by the tests/fetch_*.sh tests: a test PKI and client keys made with
# openssl, the Bulk Data test server (tests/bulk-server/server.mjs), and checks
# that no token or key ever reaches the client's output.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"

command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"
report="${CSE_REPORT:-$top_builddir/cse-report}"
[ -x "$report" ] || skip "cse-report was not built"
"$report" fetch --help >/dev/null 2>&1 || skip "cse-report has no fetch command"
fixture="$top_srcdir/test-fixtures/fetch"
practice=A81001
period=2025-01-01..2025-03-31
client=cse-test

servers=""
# The practice's signing key and the ICS linkage key: a partial is signed,
# its pseudonyms sealed.
"$report" keygen signing --practice "$practice" -o "$scratch/sign.pem" > /dev/null ||
    fail "keygen signing failed"
"$report" keygen linkage -o "$scratch/link.pem" > /dev/null || fail "keygen linkage failed"
trap 'for p in $servers; do kill "$p" 2>/dev/null; done; rm -rf "$scratch"' EXIT

ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }

# A CA, a server certificate it signed for 127.0.0.1/localhost, an untrusted
# self-signed one, and the client's ES384 and RS384 keys (mode 0600).
make_pki() {
    pki="$scratch/pki"
    mkdir -p "$pki"
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 -subj "/CN=csemarker test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$pki/server.key" -out "$pki/server.csr" -subj "/CN=127.0.0.1"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "extendedKeyUsage=serverAuth" > "$pki/server.ext"
    ossl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
        -CAcreateserial -out "$pki/server.pem" -days 2 -extfile "$pki/server.ext"
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$pki/untrusted.key" -out "$pki/untrusted.pem" -days 2 \
        -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
    (umask 077 &&
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$pki/es.pem" &&
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/rs.pem" &&
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$pki/other.pem") \
        >/dev/null 2>&1 || fail "cannot make client keys"
    ossl pkey -in "$pki/es.pem" -pubout -out "$pki/es.pub"
    ossl pkey -in "$pki/rs.pem" -pubout -out "$pki/rs.pub"
    # Every base64 line of the private keys, to look for in the client's output.
    grep -hv -- '-----' "$pki/es.pem" "$pki/rs.pem" > "$pki/key-lines"
}

# start_server DATA_DIR [server options...]: sets $base and $log.
n_server=0
start_server() {
    data=$1
    shift
    n_server=$((n_server + 1))
    log="$scratch/server$n_server.log"
    : > "$log"
    node "$top_srcdir/tests/bulk-server/server.mjs" --data "$data" \
        --cert "${server_cert:-$pki/server.pem}" --key "${server_key:-$pki/server.key}" \
        --log "$log" --secrets "$scratch/secrets" \
        --client "$client=$pki/es.pub" --client "$client=$pki/rs.pub,rs-key-1" "$@" \
        > "$scratch/port$n_server" 2> "$scratch/server$n_server.err" &
    server_pid=$!
    servers="$servers $server_pid"
    i=0
    while ! grep -q '^PORT ' "$scratch/port$n_server" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 300 ] || fail "the test server did not start: $(cat "$scratch/server$n_server.err")"
        kill -0 "$server_pid" 2>/dev/null ||
            fail "the test server exited: $(cat "$scratch/server$n_server.err")"
        sleep 0.1
    done
    base="https://127.0.0.1:$(sed -n 's/^PORT //p' "$scratch/port$n_server")/fhir"
}

stop_server() {
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    grep -q SERVER-ERROR "$log" && fail "the test server failed: $(cat "$log")"
    return 0
}

# fetch NAME [options...]: runs cse-report fetch against $base with the ES384
# key; output in $scratch/NAME.{partial,out,err}, exit status in $rc.
fetch() {
    name=$1
    shift
    "$report" fetch --fhir "$base" --group "$practice" --client-id "$client" \
        --ca "$pki/ca.pem" --practice "$practice" --period "$period" \
        --signing-key "$scratch/sign.pem" -o "$scratch/$name.partial" "$@" > "$scratch/$name.out" 2> "$scratch/$name.err"
    rc=$?
    no_secrets "$name"
}

# Fails when a token, an assertion or key material shows in NAME's output.
no_secrets() {
    for f in "$scratch/$1.out" "$scratch/$1.err"; do
        if [ -s "$scratch/secrets" ] && grep -qF -f "$scratch/secrets" "$f"; then
            fail "$1: a token or client assertion was printed"
        fi
        grep -qF -f "$pki/key-lines" "$f" && fail "$1: private key material was printed"
        grep -qE '9990000018|SECRETNAME' "$f" && fail "$1: server text was repeated"
    done
    return 0
}

# expect_fail NAME STATUS PATTERN: the run failed as expected, said why,
# deleted nothing it should not have and left no partial behind.
expect_fail() {
    [ "$rc" -eq "$2" ] || fail "$1: exit status $rc, expected $2: $(cat "$scratch/$1.err")"
    grep -qE "$3" "$scratch/$1.err" || fail "$1: expected /$3/ in: $(cat "$scratch/$1.err")"
    [ ! -e "$scratch/$1.partial" ] || fail "$1: a partial was written"
    ls "$scratch" | grep -q "^$1.partial.tmp" && fail "$1: a temporary file was left"
    return 0
}

expect_ok() {
    [ "$rc" -eq 0 ] || fail "$1: exit status $rc: $(cat "$scratch/$1.err")"
    cmp -s "$scratch/$1.partial" "$scratch/expected.partial" && return 0
    # Sealed pseudonyms differ run to run (a fresh ephemeral key each time),
    # and so does the signature over them: compare everything else.
    command -v jq > /dev/null || fail "$1: the partial differs from extract's (no jq to compare)"
    norm='del(.partials[].signature, .partials[].cells[].pseudonyms.sealed)'
    [ "$(jq -S "$norm" "$scratch/$1.partial")" = "$(jq -S "$norm" "$scratch/expected.partial")" ] ||
        fail "$1: the partial differs from extract's"
}

# The partial extract writes over the same files.
expected_partial() {
    "$report" extract --practice "$practice" --period "$period" -q \
        --signing-key "$scratch/sign.pem" "$@" \
        -o "$scratch/expected.partial" "${data_dir:-$fixture}/$practice" ||
        fail "cse-report extract failed"
}

deleted() { grep -q '^DELETE job=' "$log"; }
