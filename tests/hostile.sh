#!/bin/sh
# SPDX-License-Identifier: MIT
# The hostile-input corpus (test-fixtures/hostile/common/, the GP2GP cases of
# test-fixtures/hostile/gp2gp/, and big cases generated here) against every
# program and command that reads it: cse-convert inspect, ehr2fhir, repair,
# fhir2ehr; cse-report extract, merge; cse-host import, open, online-view,
# export. Each (target, case) must:
#   1. exit with the documented failure status (3 = input rejected, 4 = a file
#      could not be read), within 60 seconds, without a crash;
#   2. say on stderr which file and what is wrong (a per-case pattern);
#   3. leave no output file and no temporary file behind, print nothing on
#      standard output;
#   4. never show the planted NHS numbers, free text or /etc/passwd, nor the
#      raw bytes of the record; no sanitizer report, no stray libxml2 output.
# A target that is not built is skipped with its reason; one that is built
# must pass. cse-report fetch reads NDJSON only over HTTP: not covered here.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"

C="$top_srcdir/test-fixtures/hostile/common"
G="$top_srcdir/test-fixtures/hostile/gp2gp"
conv="$top_builddir/cse-convert"
report="$top_builddir/cse-report"
host="$top_builddir/plugin/cse-host"
skeleton="$top_srcdir/test-fixtures/gp2gp/skeleton/input.xml"
fragment_id=A1B2C3D4-0000-4000-8000-000000000070

[ -d "$C" ] || fail "no corpus in $C"
command -v timeout > /dev/null 2>&1 || skip "timeout(1) is needed to catch hangs"


stdin=
out="$scratch/out"
rec="$scratch/records"
gen="$scratch/gen"
mkdir "$gen" "$rec" "$scratch/journal" || exit 99
printf '%064d\n' 42 > "$scratch/key" && chmod 600 "$scratch/key" || exit 99
passed=0
failed=0
skipped=""

# ---- the big cases, generated (nothing big is committed) -----------------

# 100k nested elements inside the envelope, after the patient's NHS number.
awk '{ print } /<\/patient>/ && !done {
        for (i = 0; i < 100000; i++) printf "<nest>";
        for (i = 0; i < 100000; i++) printf "</nest>";
        print ""; done = 1 }' "$C/valid.xml" > "$gen/deep.xml" || exit 99
# A 10 MiB attribute value: the EhrExtract id.
head -c 10485760 /dev/zero | tr '\0' A > "$gen/big" || exit 99
awk -v big="$gen/big" '/A1B2C3D4-0000-4000-8000-000000000001/ && !done {
        printf "<id root=\""; while ((getline l < big) > 0) printf "%s", l;
        print "\"/>"; done = 1; next } { print }' "$C/valid.xml" > "$gen/attr-10mb.xml" || exit 99
rm -f "$gen/big"
# 100k nested JSON arrays: in a Bundle, in an NDJSON resource, in a partial.
nest() { head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; }
{ printf '{"resourceType":"Bundle","type":"collection","entry":'; nest; printf '}\n'; } \
    > "$gen/deep.json" || exit 99
{ printf '{"resourceType":"Patient","id":"p1","extension":'; nest; printf '}\n'; } \
    > "$gen/deep.ndjson" || exit 99
{ printf '{"format":"csemarker-partial","version":1,"cells":'; nest; printf '}\n'; } \
    > "$gen/deep-partial.json" || exit 99
# Fragments in base64: of a truncated gzip, and not base64 at all.
base64 "$C/fragment-truncated.gz" > "$gen/fragment-truncated.b64" || exit 99
printf '%%%% this is not base64 %%%%\n' > "$gen/fragment-not-base64.b64" || exit 99
# Directories where a file is expected.
mkdir "$gen/dir.xml" "$gen/dir.json" "$gen/dir.ndjson" || exit 99

# ---- the targets ------------------------------------------------------------
# t_TARGET INPUT... runs one command with its output in $out; the result is
# in $scratch/stdout and $scratch/stderr, the status in $rc.

run() {
    TMPDIR="$scratch/tmp" timeout 60 "$@" < "${stdin:-/dev/null}" > "$scratch/stdout" \
        2> "$scratch/stderr"
    rc=$?
    stdin=
}
H() {
    run "$host" --records "$rec" --journal "$scratch/journal" --key "$scratch/key" \
        --user G1000001 --role gp --ods Y99002 "$@"
}
# The record cse-host works on is $rec/hostile.json.
put_record() {
    rm -rf "$rec" && mkdir "$rec" || exit 99
    if [ -d "$1" ]; then mkdir "$rec/hostile.json"; else cp "$1" "$rec/hostile.json"; fi || exit 99
}
put_fragment() { # keeps the suffix: .gz or .b64
    rm -rf "$scratch/frag" && mkdir "$scratch/frag" || exit 99
    cp "$1" "$scratch/frag/$fragment_id.${1##*.}" || exit 99
}
t_inspect() { run "$conv" inspect -o "$out/out.txt" "$1"; }
t_ehr2fhir() { run "$conv" ehr2fhir -o "$out/out.json" "$1"; }
t_ehr2fhir_stu3() { run "$conv" ehr2fhir --stu3 -o "$out/out.json" "$1"; }
t_repair() { run "$conv" repair "$1" -o "$out/out.xml"; }
t_inspect_fragment() {
    put_fragment "$1"
    run "$conv" inspect --fragments "$scratch/frag" -o "$out/out.txt" "$skeleton"
}
t_ehr2fhir_fragment() {
    put_fragment "$1"
    run "$conv" ehr2fhir --fragments "$scratch/frag" -o "$out/out.json" "$skeleton"
}
t_fhir2ehr() { run "$conv" fhir2ehr --sender Y99001 --receiver Y99002 -o "$out/out.xml" "$1"; }
t_extract() {
    run "$report" extract --practice Y99001 --period 2024-Q1 --signing-key "$scratch/y99001.pem" \
        -o "$out/out.json" "$@"
}
t_merge() {
    run "$report" merge --registry "$C/partial-registry" --keys "$C/partial-keys" "$@" \
        --format csv -o "$out/out.csv"
}
# Standard input.
t_ehr2fhir_stdin() { stdin=$1; run "$conv" ehr2fhir -o "$out/out.json" -; }
t_repair_stdin() { stdin=$1; run "$conv" repair - -o "$out/out.xml"; }
t_fhir2ehr_stdin() {
    stdin=$1; run "$conv" fhir2ehr --sender Y99001 --receiver Y99002 -o "$out/out.xml" -
}
t_extract_stdin() {
    stdin=$1
    run "$report" extract --practice Y99001 --period 2024-Q1 --signing-key "$scratch/y99001.pem" \
        -o "$out/out.json" -
}
# The practice's signing key for extract (the good inputs' Patient names Y99001).
[ -x "$report" ] && "$report" keygen signing --practice Y99001 -o "$scratch/y99001.pem" > /dev/null 2>&1
t_import() {
    rm -rf "$rec" && mkdir "$rec" || exit 99
    H import "$1" --as hostile
}
t_open() { put_record "$1" && H open hostile; }
t_online_view() { put_record "$1" && H online-view hostile -o "$out/out.json"; }
t_export() { put_record "$1" && H export hostile -o "$out/out.xml"; }

# Which targets exist in this build, and that each accepts a good input with
# the same command line (so a rejection below is about the case, not about the
# command line).
available=""
targets="inspect ehr2fhir ehr2fhir_stu3 repair inspect_fragment ehr2fhir_fragment fhir2ehr
    extract merge import open online_view export ehr2fhir_stdin repair_stdin fhir2ehr_stdin
    extract_stdin"
for t in $targets; do
    case $t in
    inspect | inspect_fragment) need="$conv inspect --help" ;;
    ehr2fhir*) need="$conv ehr2fhir --help" ;;
    repair*) need="$conv repair --help" ;;
    fhir2ehr*) need="$conv fhir2ehr --help" ;;
    extract*) need="$report extract --help" ;;
    merge) need="$report merge --help" ;;
    *) need="$host --help" ;;
    esac
    # shellcheck disable=SC2086
    if ! [ -x "${need%% *}" ] || ! $need > /dev/null 2>&1; then
        skipped="$skipped
  $t: not built ('$need' failed)"
        continue
    fi
    case $t in
    inspect | ehr2fhir | ehr2fhir_stu3 | repair | extract | import) good="$C/valid.xml" ;;
    ehr2fhir_stdin | repair_stdin) good="$C/valid.xml" ;;
    inspect_fragment | ehr2fhir_fragment) good="$C/fragment-valid.gz" ;;
    merge) good="$C/partial-valid.json" ;;
    extract_stdin) good="$C/fhir-valid.ndjson" ;;
    *) good="$C/fhir-valid.json" ;;
    esac
    rm -rf "$out" "$scratch/tmp" && mkdir "$out" "$scratch/tmp" || exit 99
    "t_$t" "$good"
    case $t:$rc in
    import:6 | open:6 | online_view:6 | export:6)
        skipped="$skipped
  $t: cse-host cannot load the plug-in module (exit 6)"
        continue
        ;;
    esac
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then
        echo "FAIL: $t refuses the good input $(basename "$good") (exit $rc): $(head -c 400 "$scratch/stderr")" >&2
        failed=$((failed + 1))
        continue
    fi
    case $t in
    open) made=yes ;;
    import) made=$(ls -A "$rec") ;;
    *) made=$(ls -A "$out") ;;
    esac
    if [ -z "$made" ]; then
        echo "FAIL: $t wrote nothing for the good input $(basename "$good")" >&2
        failed=$((failed + 1))
        continue
    fi
    available="$available $t "
done

# ---- one case ---------------------------------------------------------------

planted='9997654323|9992468017|Quillfeather|Zephyrine|Marrowbone|root:x?:0:0'
verdict() { # TARGET CASE MESSAGE
    echo "FAIL: $1 $2: $3" >&2
    failed=$((failed + 1))
}
# check TARGET STATUS PATTERN INPUT...: runs TARGET on INPUT and checks the
# five promises; PATTERN is an extended regex the message must match (case
# insensitive). The file the message must name is the input, the fragment
# or the patient record.
check() {
    target=$1 want=$2 pattern=$3
    shift 3
    case "$available" in *" $target "*) ;; *) return ;; esac
    case $target in
    open | online_view | export) name=hostile ;;
    *_fragment) name=$fragment_id.${1##*.} ;;
    *_stdin) name='' ;;
    *) name=$(basename "$1") ;;
    esac
    case=$(basename "$1")
    rm -rf "$out" "$scratch/tmp" && mkdir "$out" "$scratch/tmp" || exit 99
    "t_$target" "$@"
    err=$(head -c 2000 "$scratch/stderr")
    if [ "$rc" -eq 124 ]; then
        verdict "$target" "$case" "hung (killed after 60 s)"
        return
    fi
    if [ "$rc" -gt 124 ]; then
        verdict "$target" "$case" "crashed (status $rc): $err"
        return
    fi
    problems=""
    [ "$rc" -eq "$want" ] || problems="$problems; exit $rc, expected $want"
    # The pattern must match what the message says, not the file's name.
    awk -v a="$scratch" -v b="$top_srcdir" -v c="$case" -v d="$name" '
        function cut(s, t,  i) {
            while (t != "" && (i = index(s, t)) > 0)
                s = substr(s, 1, i - 1) substr(s, i + length(t))
            return s
        }
        { print cut(cut(cut(cut($0, a), b), c), d) }' "$scratch/stderr" > "$scratch/said"
    grep -aqiE -- "$pattern" "$scratch/said" ||
        problems="$problems; message does not say /$pattern/"
    if [ -n "$name" ]; then
        grep -qF -- "$name" "$scratch/stderr" || problems="$problems; message does not name $name"
    else
        grep -qE -- '(^|: )-:|standard input|stdin' "$scratch/stderr" ||
            problems="$problems; message does not name standard input ('-')"
    fi
    left=$(ls -A "$out")
    [ -z "$left" ] || problems="$problems; left in the output folder: $left"
    left=$(ls -A "$scratch/tmp")
    [ -z "$left" ] || problems="$problems; left in \$TMPDIR: $left"
    case $target in
    import)
        left=$(ls -A "$rec")
        [ -z "$left" ] || problems="$problems; left in the records folder: $left"
        ;;
    open | online_view | export)
        left=$(ls -A "$rec")
        [ "$left" = hostile.json ] || problems="$problems; records folder now holds: $left"
        ;;
    esac
    [ ! -s "$scratch/stdout" ] ||
        problems="$problems; printed on stdout: $(head -c 200 "$scratch/stdout")"
    if grep -aqwE '999[0-9]{7}' "$scratch/stdout" "$scratch/stderr" ||
        grep -aqiE "$planted" "$scratch/stdout" "$scratch/stderr"; then
        problems="$problems; an NHS number or record text in the output"
    fi
    grep -aq 'Bytes: 0x' "$scratch/stderr" &&
        problems="$problems; raw record bytes in the message (libxml2 'Bytes: 0x..')"
    grep -aqE '^(I/O error|parser error|namespace error|validity error|Entity: line)' \
        "$scratch/stderr" && problems="$problems; libxml2 printed to stderr directly"
    grep -aqE 'runtime error:|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer' \
        "$scratch/stderr" && problems="$problems; sanitizer report"
    if [ -n "$problems" ]; then
        verdict "$target" "$case" "${problems#; } -- stderr: $err"
    else
        passed=$((passed + 1))
    fi
}

# ---- the cases --------------------------------------------------------------

# What each message must say (extended regexes, case insensitive). They
# accept the specific reasons libxml2 and jansson give, not a bare "does not
# parse".
entity='DOCTYPE|entit'
empty='empty|end of file|no root|no element'
# Empty inputs are made here rather than committed.
: > "$scratch/empty.xml"
: > "$scratch/empty.json"
: > "$scratch/empty.ndjson"
utf8='UTF-8|decode'
nul='NUL|0x0|control char'
deep='deep|depth|nest'
range='overflow|too big|too large|out of range'
json_bom='UTF-16|BOM|UTF-8|decode'
xml_bom='UTF-16|BOM|encoding|not well-formed'
notwf='truncated|not well-formed|premature|end of'
dir='directory'

# GP2GP XML, every reader. cse-report extract reads only the envelope (up to
# the ehrFolder) by design, so it gets the cases that break the envelope.
for t in inspect ehr2fhir ehr2fhir_stu3 repair extract import; do
    for f in "$G/external-entity.xml" "$G/external-entity-attribute.xml" \
        "$G/external-dtd.xml" "$G/billion-laughs.xml" "$C/xxe-network.xml" \
        "$C/xxe-parameter.xml" "$C/xxe-file-late.xml"; do
        check $t 3 "$entity" "$f"
    done
    check $t 3 "$empty" "$scratch/empty.xml"
    check $t 3 "$empty" "$C/whitespace.xml"
    check $t 3 "$xml_bom" "$C/utf16-bom.xml"
    check $t 3 "$utf8" "$C/invalid-utf8-header.xml"
    check $t 3 "$nul" "$C/nul-byte-header.xml"
    check $t 3 "$notwf" "$C/truncated-header.xml"
    check $t 3 "$deep" "$gen/deep.xml"
    check $t 3 'limit|too long|too large|size' "$gen/attr-10mb.xml"
    [ $t = extract ] && continue # a folder is a valid input of extract
    check $t 4 "$dir" "$gen/dir.xml"
    check $t 3 "$utf8" "$G/invalid-utf8.xml"
    check $t 3 "$utf8" "$C/invalid-utf8-late.xml"
    check $t 3 "$nul" "$G/nul-byte.xml"
    check $t 3 "$nul" "$C/nul-byte-late.xml"
    check $t 3 "$notwf" "$G/truncated.xml"
done

# A large message's fragment that is broken gzip: cut in the middle, cut
# before its trailer, a trailer claiming 4 GiB, a wrong CRC.
for t in inspect_fragment ehr2fhir_fragment; do
    check $t 3 'gzip|truncated|corrupt|compress' "$C/fragment-truncated.gz"
    check $t 3 'gzip|truncated|corrupt|compress' "$C/fragment-no-trailer.gz"
    check $t 3 'gzip|corrupt|compress|length|size' "$C/fragment-isize-4g.gz"
    check $t 3 'gzip|corrupt|compress|CRC|check' "$C/fragment-bad-crc.gz"
    check $t 3 'gzip|truncated|corrupt|compress' "$gen/fragment-truncated.b64"
    check $t 3 'base64' "$gen/fragment-not-base64.b64"
done

# Standard input, which some commands first copy to a temporary file.
for t in ehr2fhir_stdin repair_stdin; do
    check $t 3 "$entity" "$G/billion-laughs.xml"
    check $t 3 "$nul" "$C/nul-byte-late.xml"
    check $t 3 "$notwf" "$G/truncated.xml"
    check $t 3 "$deep" "$gen/deep.xml"
done
for t in fhir2ehr_stdin extract_stdin; do
    check $t 3 "$utf8" "$C/fhir-invalid-utf8.ndjson"
    check $t 3 'duplicate' "$C/fhir-duplicate-resourcetype.ndjson"
    check $t 3 "$deep" "$gen/deep.ndjson"
done

# FHIR records: Bundles for every reader, NDJSON for those that take it.
for t in fhir2ehr extract open online_view export; do
    check $t 3 "$empty" "$scratch/empty.json"
    check $t 3 "$empty" "$C/whitespace.json"
    check $t 3 "$json_bom" "$C/fhir-utf16-bom.json"
    check $t 3 "$utf8" "$C/fhir-invalid-utf8.json"
    check $t 3 "$nul" "$C/fhir-nul-byte.json"
    check $t 3 'duplicate' "$C/fhir-duplicate-resourcetype.json"
    check $t 3 'control char|tab|0x9' "$C/fhir-nhs-number-at-error.json"
    check $t 3 "$range" "$C/fhir-quantity-inf.json"
    check $t 3 "$range" "$C/fhir-quantity-neginf.json"
    check $t 3 "$range" "$C/fhir-quantity-bigint.json"
    check $t 3 "$deep" "$gen/deep.json"
    [ $t = extract ] || check $t 4 "$dir" "$gen/dir.json"
done
for t in fhir2ehr extract; do
    # An empty NDJSON file is an export with no resources of that type.
    [ $t = extract ] || check $t 3 "$empty" "$scratch/empty.ndjson"
    check $t 3 "$empty|blank|expected" "$C/whitespace.ndjson"
    check $t 3 "$json_bom" "$C/fhir-utf16-bom.ndjson"
    check $t 3 "$utf8" "$C/fhir-invalid-utf8.ndjson"
    check $t 3 "$nul" "$C/fhir-nul-byte.ndjson"
    check $t 3 'duplicate' "$C/fhir-duplicate-resourcetype.ndjson"
    check $t 3 'control char|tab|0x9' "$C/fhir-nhs-number-at-error.ndjson"
    check $t 3 "$range" "$C/fhir-quantity-inf.ndjson"
    check $t 3 "$range" "$C/fhir-quantity-neginf.ndjson"
    check $t 3 "$range" "$C/fhir-quantity-bigint.ndjson"
    check $t 3 "$deep" "$gen/deep.ndjson"
    [ $t = extract ] || check $t 4 "$dir" "$gen/dir.ndjson"
done

# Partials.
check merge 3 "$empty" "$scratch/empty.json"
check merge 3 "$empty" "$C/whitespace.json"
check merge 3 "$json_bom" "$C/partial-utf16-bom.json"
check merge 3 "$utf8" "$C/partial-invalid-utf8.json"
check merge 3 "$nul" "$C/partial-nul-byte.json"
check merge 3 'duplicate' "$C/partial-duplicate-key.json"
check merge 3 "$range" "$C/partial-count-inf.json"
check merge 3 "$range" "$C/partial-count-neginf.json"
check merge 3 "$range" "$C/partial-count-bigint.json"
# Two partials with intact digests whose counts add up past 2^63.
check merge 3 "$range" "$C/partial-count-int64max-a.json" "$C/partial-count-int64max-b.json"
check merge 3 "$deep" "$gen/deep-partial.json"
check merge 4 "$dir" "$gen/dir.json"

if [ -n "$skipped" ]; then
    echo "skipped:$skipped"
fi
echo "hostile: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
[ -n "$available" ] || skip "no program is built"
exit 0
