#!/bin/sh
# SPDX-License-Identifier: MIT
# cse-convert ehr2fhir on large messages and null-flavoured ids, as other
# national test messages send them: a fragment that starts with white space
# or whose root has no namespace reads; a fragment whose patient is not the
# skeleton's is refused, naming both places and neither NHS number; an
# author or destination whose id is nullFlavor="UNK" is accepted; a patient
# whose id has no NHS number is refused with a message that says so.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
skel="$top_srcdir/test-fixtures/gp2gp/skeleton"
frag=A1B2C3D4-0000-4000-8000-000000000070
marker=A1B2C3D4-0000-4000-8000-000000000073

# run NAME: converts the skeleton with the fragment in $scratch/NAME.
run() {
    "$conv" ehr2fhir --stu3 --fragments "$scratch/$1" "$skel/input.xml" \
        -o "$scratch/$1.json" 2> "$scratch/$1.err"
}
variant() { # name, then a sed script applied to the fragment
    mkdir -p "$scratch/$1" || fail "mkdir"
    sed "$2" "$skel/fragments/$frag.xml" > "$scratch/$1/$frag.xml" || fail "sed"
}

# The fragment as it is: the marker statement it carries is read.
variant plain ''
run plain || fail "plain fragment: exit $?: $(cat "$scratch/plain.err")"
grep -q "$marker" "$scratch/plain.json" || fail "plain fragment: its statement is missing"

# White space (a line break and blanks) before the XML declaration.
mkdir -p "$scratch/space"
{ printf '\n  \n'; cat "$skel/fragments/$frag.xml"; } > "$scratch/space/$frag.xml"
run space || fail "fragment after white space refused: $(cat "$scratch/space.err")"
grep -q "$marker" "$scratch/space.json" || fail "fragment after white space: statement missing"

# No namespace on the fragment's root (and so on none of its elements).
variant nons 's/ xmlns="urn:hl7-org:v3"//'
grep -q 'xmlns=' "$scratch/nons/$frag.xml" && fail "the variant still has a namespace"
run nons || fail "fragment without a namespace refused: $(cat "$scratch/nons.err")"
grep -q "$marker" "$scratch/nons.json" || fail "fragment without a namespace: statement missing"

# A fragment of another patient's record: refused, with both places named,
# no output, and neither NHS number in the message.
variant other 's/extension="9990000018"/extension="9990000026"/'
run other && fail "a fragment of another patient was merged"
[ ! -e "$scratch/other.json" ] || fail "output left behind for a refused fragment"
msg=$(cat "$scratch/other.err")
case $msg in *"is not the patient of the extract"*) ;; *) fail "message: $msg" ;; esac
case $msg in *"$frag.xml"*) ;; *) fail "the fragment is not named: $msg" ;; esac
case $msg in *"input.xml, line 34"*) ;; *) fail "the skeleton's place is not named: $msg" ;; esac
case $msg in *9990000018* | *9990000026*) fail "the message names an NHS number" ;; esac

# Author and destination ids the sender marks unknown.
for who in author destination; do
    awk -v who="$who" '
        $0 ~ "<" who " typeCode" { inside = 1 }
        inside && /agentOrganizationSDS classCode/ { org = 1 }
        inside && org && /<id root="1.2.826.0.1285.0.1.10"/ {
            sub(/<id [^>]*\/>/, "<id nullFlavor=\"UNK\"/>"); inside = 0; org = 0 }
        { print }' "$skel/input.xml" > "$scratch/unk-$who.xml"
    grep -q 'nullFlavor="UNK"/>' "$scratch/unk-$who.xml" || fail "$who variant not made"
    "$conv" ehr2fhir --stu3 --fragments "$skel/fragments" "$scratch/unk-$who.xml" \
        -o "$scratch/unk-$who.json" 2> "$scratch/unk-$who.err" ||
        fail "$who id nullFlavor=UNK refused: $(cat "$scratch/unk-$who.err")"
    grep -q "$marker" "$scratch/unk-$who.json" || fail "$who UNK: statement missing"
done
# A patient id without an NHS number (fhir2ehr writes one, null-flavoured,
# for a bundle that names no patient): refused, saying so, no output.
sed 's|<id root="2.16.840.1.113883.2.1.4.1" extension="9990000018"/>|<id root="2.16.840.1.113883.2.1.4.1" nullFlavor="NI"/>|' \
    "$skel/input.xml" > "$scratch/ni.xml"
grep -q 'nullFlavor="NI"/>' "$scratch/ni.xml" || fail "patient variant not made"
"$conv" ehr2fhir --stu3 --fragments "$skel/fragments" "$scratch/ni.xml" \
    -o "$scratch/ni.json" 2> "$scratch/ni.err" && fail "a patient without an NHS number accepted"
[ ! -e "$scratch/ni.json" ] || fail "output left behind for a patient without an NHS number"
case $(cat "$scratch/ni.err") in *"ni.xml:36"*"has no NHS number"*) ;;
*) fail "message: $(cat "$scratch/ni.err")" ;; esac
echo "ehr2fhir_fragments: white space, no namespace, another patient, UNK ids, no NHS number"
