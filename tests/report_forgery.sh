#!/bin/sh
# SPDX-License-Identifier: MIT
# Forged, altered, misattributed and implausible partials are refused by
# merge and link with a clear error naming the partial file and the check:
# an edited count (no digest to recompute: the signature fails), a count
# re-signed by an unknown signer, a signature under a key id the keys file
# does not hold, one practice signing another's counts, counts above the
# registered population, a numerator above its denominator, overlapping
# periods, a partial without pseudonyms or with another pseudonym key id in a
# linkage, the wrong linkage key, a linkage with a practice missing, linked
# counts signed by a practice, an unsigned partial. Keys: generation,
# rotation, file modes.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
sign="$top_srcdir/tests/report_sign.py"
command -v python3 > /dev/null || skip "python3 not found (forging needs it)"
command -v openssl > /dev/null || skip "openssl not found (forging needs it)"

"$rep" synth --seed 21 --practices 3 --patients 600 -o "$scratch/ics" > /dev/null || fail "synth failed"
set -- $(cat "$scratch/ics/practices.txt")
A=$1 B=$2 C=$3
report_keys "$scratch/k" 600 "$@"
for ods in "$@"; do
    "$rep" extract -q --practice "$ods" --period 2025-Q4 $(xkeys "$ods") \
        -o "$scratch/$ods.json" "$scratch/ics/$ods" || fail "extract $ods failed"
done
good="$scratch/$A.json $scratch/$B.json $scratch/$C.json"
# shellcheck disable=SC2086
"$rep" merge $trust $good --format csv -o "$scratch/ok.csv" 2> /dev/null || fail "genuine partials refused"

# refused WHAT PATTERN FILE COMMAND...: exit 3 (or 4 for key files), the
# message names FILE and matches PATTERN, no output left behind.
refused() {
    what=$1 pattern=$2 file=$3
    shift 3
    rm -f "$scratch/out"
    "$@" -o "$scratch/out" > /dev/null 2> "$scratch/err"
    rc=$?
    [ $rc -eq 3 ] || [ $rc -eq 4 ] || fail "$what: exit $rc, expected a refusal: $(cat "$scratch/err")"
    grep -q -- "$pattern" "$scratch/err" || fail "$what: stderr lacks '$pattern': $(cat "$scratch/err")"
    [ -z "$file" ] || grep -qF -- "$file" "$scratch/err" || fail "$what: the error does not name $file"
    [ ! -e "$scratch/out" ] || fail "$what: output written"
    # Never a patient: no NHS number (999...) in the message.
    grep -q '999[0-9]\{7\}' "$scratch/err" && fail "$what: an NHS number in the error"
    return 0
}
merge() { "$rep" merge $trust --format csv "$@"; }
link() { "$rep" link $trust --linkage-key "$kd/linkage.pem" --signing-key "$kd/ics.pem" "$@"; }

# An edited count, signature kept: the signature no longer matches.
sed 's/"registered_children": \([0-9]*\)/"registered_children": 1\1/' "$scratch/$A.json" > "$scratch/edited.json"
cmp -s "$scratch/$A.json" "$scratch/edited.json" && fail "could not edit the partial"
refused "edited count" "altered after it was signed" edited.json merge "$scratch/edited.json"
refused "edited count (link)" "altered after it was signed" edited.json \
    link "$scratch/edited.json" "$scratch/$B.json" "$scratch/$C.json"
# The same edit re-signed by a key the ICS does not know, claiming A or not.
"$rep" keygen signing --practice Y66666 -o "$scratch/stranger.pem" > /dev/null || fail "keygen"
python3 "$sign" "$scratch/stranger.pem" "$scratch/edited.json" "$scratch/forged.json" --signer Y66666 ||
    fail "forging failed"
refused "unknown signer" "unknown signer" forged.json merge "$scratch/forged.json"
python3 "$sign" "$scratch/stranger.pem" "$scratch/edited.json" "$scratch/forged-a.json" ||
    fail "forging failed"
refused "key id not held for the signer" "which the keys file does not hold for $A" forged-a.json \
    merge "$scratch/forged-a.json"
# Practice B signs counts of A (its own key, signer B).
python3 "$sign" "$kd/$B.pem" "$scratch/edited.json" "$scratch/b-signs-a.json" --signer "$B" ||
    fail "forging failed"
refused "another practice's counts" "signed counts of another practice" b-signs-a.json \
    merge "$scratch/b-signs-a.json"
# Validly signed by A itself, but implausible.
python3 "$sign" "$kd/$A.pem" "$scratch/$A.json" "$scratch/huge.json" \
    --set counts.registered_children=1000000000000 || fail "forging failed"
refused "count above the population" "above its registered population" huge.json \
    merge "$scratch/huge.json"
python3 "$sign" "$kd/$A.pem" "$scratch/$A.json" "$scratch/huge2.json" \
    --set counts.registered_children=1000000000001 || fail "forging failed"
refused "absurd count" "out of range" huge2.json merge "$scratch/huge2.json"
python3 "$sign" "$kd/$A.pem" "$scratch/$A.json" "$scratch/ratio.json" \
    --set counts.active_markers_nopat=500 --set counts.active_markers=20 || fail "forging failed"
refused "numerator above denominator" "active_markers_nopat (500) is above active_markers (20)" \
    ratio.json merge "$scratch/ratio.json"
# Re-signing genuinely by A is accepted: the checks above are not about the
# signing tool.
python3 "$sign" "$kd/$A.pem" "$scratch/$A.json" "$scratch/resigned.json" || fail "re-signing failed"
merge "$scratch/resigned.json" -o "$scratch/resigned.csv" 2> /dev/null ||
    fail "a partial re-signed by its own practice was refused"
# Unsigned: the signature removed.
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
del d["partials"][0]["signature"]
json.dump(d, open(sys.argv[2], "w"))' "$scratch/$A.json" "$scratch/unsigned.json" || fail "editing failed"
refused "unsigned" "unsigned partial" unsigned.json merge "$scratch/unsigned.json"

# Overlapping periods for one practice.
"$rep" extract -q --practice "$A" --period 2025-12-01..2025-12-31 $(xkeys "$A") \
    -o "$scratch/dec.json" "$scratch/ics/$A" || fail "extract (December) failed"
refused "overlapping periods" "overlapping periods" dec.json merge "$scratch/$A.json" "$scratch/dec.json"

# Linkage: every practice present, with pseudonyms, one pseudonym key, the
# right linkage key.
refused "missing practice" "have no partial for it ($C)" "" link "$scratch/$A.json" "$scratch/$B.json"
"$rep" extract -q --practice "$C" --period 2025-Q4 --signing-key "$kd/$C.pem" \
    -o "$scratch/nopseud.json" "$scratch/ics/$C" || fail "extract without a key failed"
refused "partial without pseudonyms" "has no pseudonyms" nopseud.json \
    link "$scratch/$A.json" "$scratch/$B.json" "$scratch/nopseud.json"
"$rep" keygen pseudonym -o "$scratch/other.key" > /dev/null || fail "keygen pseudonym"
"$rep" extract -q --practice "$C" --period 2025-Q4 --signing-key "$kd/$C.pem" \
    --key "$scratch/other.key" --linkage-key "$kd/linkage.pem.pub" \
    -o "$scratch/otherkey.json" "$scratch/ics/$C" || fail "extract with another key failed"
refused "mismatched pseudonym key id" "every practice of a linkage uses the same pseudonym key" \
    otherkey.json link "$scratch/$A.json" "$scratch/$B.json" "$scratch/otherkey.json"
"$rep" keygen linkage -o "$scratch/wrong-link.pem" > /dev/null || fail "keygen linkage"
refused "wrong linkage key" "but the linkage key given has id" "" \
    "$rep" link $trust --linkage-key "$scratch/wrong-link.pem" --signing-key "$kd/ics.pem" $good
refused "not the ICS signing key" "not the one the keys file holds for the ICS" "" \
    "$rep" link $trust --linkage-key "$kd/linkage.pem" --signing-key "$kd/$A.pem" $good
# The sealed pseudonyms altered, the partial re-signed by its practice: the
# seal does not open.
python3 - "$scratch/$A.json" "$scratch/sealed-edit.json" <<'PY' || fail "editing the seal failed"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["partials"][0]["cells"][0]["pseudonyms"]
s = c["sealed"]
c["sealed"] = s[:60] + ("A" if s[60] != "A" else "B") + s[61:]
json.dump(d, open(sys.argv[2], "w"))
PY
python3 "$sign" "$kd/$A.pem" "$scratch/sealed-edit.json" "$scratch/sealed-edit.json" || fail "re-signing"
refused "altered seal" "do not open with this linkage key" sealed-edit.json \
    link "$scratch/sealed-edit.json" "$scratch/$B.json" "$scratch/$C.json"
# Linked counts signed by a practice instead of the ICS.
link $good -o "$scratch/linked.json" || fail "link failed"
grep -q '"pseudonyms"\|"sealed"' "$scratch/linked.json" && fail "the linked partial holds pseudonyms"
python3 - "$scratch/linked.json" "$scratch/linked-a.json" <<'PY' || fail "editing failed"
import json, sys
d = json.load(open(sys.argv[1]))
d["partials"][0]["cells"][0]["transfer"]["numerator"] += 1
d["partials"][0]["cells"][0]["transfer"]["denominator"] += 1
json.dump(d, open(sys.argv[2], "w"))
PY
python3 "$sign" "$kd/$A.pem" "$scratch/linked-a.json" "$scratch/linked-a.json" --signer "$A" ||
    fail "forging failed"
refused "linked counts not from the ICS" "only the ICS links" linked-a.json \
    merge $good "$scratch/linked-a.json"
# shellcheck disable=SC2086
merge $good "$scratch/linked.json" -o "$scratch/linked.csv" || fail "the genuine linked partial was refused"

# Keys: modes checked, an existing key is not overwritten, rotation keeps the
# old key and changes the id, the wrong kind of key is refused.
chmod 640 "$kd/$A.pem"
refused "group-readable signing key" "accessible by group or others" "$A.pem" \
    "$rep" extract -q --practice "$A" --period 2025-Q4 --signing-key "$kd/$A.pem" "$scratch/ics/$A"
chmod 600 "$kd/$A.pem"
chmod 604 "$kd/linkage.pem"
refused "world-readable linkage key" "accessible by group or others" linkage.pem link $good
chmod 600 "$kd/linkage.pem"
refused "signing key given as linkage key" "not the ICS linkage key" "" \
    "$rep" link $trust --linkage-key "$kd/ics.pem" --signing-key "$kd/ics.pem" $good
"$rep" keygen signing --practice "$A" -o "$kd/$A.pem" > /dev/null 2> "$scratch/err" &&
    fail "keygen overwrote an existing key"
grep -q "rotate" "$scratch/err" || fail "keygen does not say how to rotate: $(cat "$scratch/err")"
old=$(cat "$kd/$A.pem.pub")
"$rep" keygen signing --practice "$A" --rotate -o "$kd/$A.pem" > "$scratch/id" 2> /dev/null ||
    fail "rotation failed"
[ "$(cat "$kd/$A.pem.pub.old")" = "$old" ] || fail "rotation did not keep the old public key"
[ "$(cat "$kd/$A.pem.pub")" != "$old" ] || fail "rotation did not make a new key"
[ "$(stat -c %a "$kd/$A.pem")" = 600 ] || fail "a rotated private key is not mode 600"
"$rep" extract -q --practice "$A" --period 2025-Q4 $(xkeys "$A") -o "$scratch/rot.json" \
    "$scratch/ics/$A" || fail "extract with the rotated key failed"
refused "rotated key not yet in the keys file" "which the keys file does not hold" rot.json \
    merge "$scratch/rot.json"
cat "$kd/$A.pem.pub" >> "$kd/keys"
merge "$scratch/rot.json" -o "$scratch/rot.csv" 2> /dev/null || fail "the rotated key, once listed, was refused"
echo "report_forgery: every forgery refused"
