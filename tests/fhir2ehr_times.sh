#!/bin/sh
# SPDX-License-Identifier: MIT
# fhir2ehr writes FHIR instants in UK local time, as GP2GP carries times and
# as the national sending adaptor's DateFormatUtil converts them
# (Europe/London): across both BST boundaries of 2024 (01:00 UTC on 31 March
# and 27 October), into the next day, from an offset elsewhere, as ehr2fhir
# writes a summer time (+01:00), and a date as written
# (test-fixtures/fhir-times/instants.json, values 61..68 in order). The
# extract's own time (Bundle.timestamp, 12:00Z on 1 November) is GMT.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir-times"

"$conv" fhir2ehr "$fix/instants.json" --sender A99001 --receiver B99002 \
    -o "$scratch/out.xml" 2> "$scratch/err" || fail "fhir2ehr exit $?: $(cat "$scratch/err")"
# Each value with the effective time of its statement, in order.
tr -d '\n' < "$scratch/out.xml" | grep -o '<center value="[0-9]*"/>.*\?<value xsi:type="PQ" value="6[0-9]"' |
    sed 's/<value xsi:type="PQ" value="\(6[0-9]\)"/ \1\n/g' |
    sed -n 's/.*<center value="\([0-9]*\)"\/>.* \(6[0-9]\)$/\2 \1/p' > "$scratch/got"
cat > "$scratch/want" << 'END'
61 20240331005959
62 20240331020000
63 20241027015900
64 20241027010000
65 20240701003000
66 20240714175500
67 20240115043000
68 20240714
END
diff -u "$scratch/want" "$scratch/got" > "$scratch/diff" ||
    fail "effective times are not UK local time: $(cat "$scratch/diff")"
grep -q '<creationTime value="20241101120000"/>' "$scratch/out.xml" ||
    fail "creation time: $(grep -o '<creationTime[^>]*>' "$scratch/out.xml")"
echo "fhir2ehr_times: 8 instants in UK local time"
