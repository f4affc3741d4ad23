# SPDX-License-Identifier: MIT
# Sourced by the cse-report tests (after testlib.sh, with $rep set): the keys
# and registry of a test ICS, made with cse-report keygen.
#   report_keys DIR POPULATION ODS...
# writes DIR/pseudonym (the practices' HMAC key), DIR/linkage.pem(.pub) (the
# ICS linkage key), DIR/ics.pem(.pub) (the ICS signing key, ODS code QICS1),
# DIR/ODS.pem(.pub) per practice, DIR/registry and DIR/keys, and sets
# $trust to the --registry and --keys options of merge and link.
report_keys() {
    kd=$1 pop=$2
    shift 2
    mkdir -p "$kd" || fail "cannot make $kd"
    "$rep" keygen pseudonym -o "$kd/pseudonym" > /dev/null || fail "keygen pseudonym failed"
    "$rep" keygen linkage -o "$kd/linkage.pem" > /dev/null || fail "keygen linkage failed"
    "$rep" keygen signing --practice QICS1 -o "$kd/ics.pem" > /dev/null || fail "keygen ics failed"
    echo "ics QICS1" > "$kd/registry"
    for ods in "$@"; do
        "$rep" keygen signing --practice "$ods" -o "$kd/$ods.pem" > /dev/null ||
            fail "keygen signing $ods failed"
        echo "practice $ods $pop" >> "$kd/registry"
    done
    cat "$kd"/*.pem.pub > "$kd/keys"
    trust="--registry $kd/registry --keys $kd/keys"
}
# xkeys ODS: the options of extract for practice ODS (signed, pseudonyms sealed).
xkeys() {
    echo "--signing-key $kd/$1.pem --key $kd/pseudonym --linkage-key $kd/linkage.pem.pub"
}
# link_all OUT PARTIAL...: the ICS-wide linked partial.
link_all() {
    lo=$1
    shift
    "$rep" link $trust --linkage-key "$kd/linkage.pem" --signing-key "$kd/ics.pem" \
        -o "$lo" "$@" || fail "link failed"
}
