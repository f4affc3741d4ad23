#!/bin/sh
# SPDX-License-Identifier: MIT
# Temporaries of the identifiable record and inputs that are not files:
#   - an orphaned temporary (what a SIGKILL during a write leaves) of the
#     record being changed is removed by the next change of that record;
#   - orphans of other records are removed once older than the stale age,
#     and only names of the exact pattern, regular files, are ever removed;
#   - a write killed by a signal (SIGXFSZ here) leaves nothing behind once
#     the next command ran; a failed write leaves nothing at all;
#   - an export's orphans are removed once stale;
#   - a FIFO given as --key or as the import file is refused, not waited on.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
host="$top_builddir/plugin/cse-host"
fx="$top_srcdir/test-fixtures/plugin"
[ -x "$host" ] || fail "no $host"
command -v timeout >/dev/null || skip "timeout(1) is needed"
mkdir "$scratch/rec" "$scratch/j" || exit 99
printf '%064d\n' 3 > "$scratch/key" && chmod 600 "$scratch/key"
cp "$fx/child.json" "$scratch/rec/sam.json"
cp "$fx/related.json" "$scratch/rec/kim.json"
H() { timeout 60 "$host" --records "$scratch/rec" --journal "$scratch/j" \
      --key "$scratch/key" --user G1000001 --role clinician --ods A11111 "$@"; }
orphans() { ls -a "$scratch/rec" | grep -E '\.json\.tmp\.[A-Za-z0-9]{6}$'; }

# An orphan of sam (fresh) and one of kim; look-alikes that are not ours.
echo '{"partial":' > "$scratch/rec/sam.json.tmp.AbC123"
echo '{"partial":' > "$scratch/rec/kim.json.tmp.Zz9900"
for n in sam.json.tmp.bak sam.json.tmp.ABCDEFG notes.tmp.ABCDEF sam.json.tmp.AB-DEF; do
    echo keep > "$scratch/rec/$n"
done
echo target > "$scratch/target"
ln -s "$scratch/target" "$scratch/rec/sam.json.tmp.Link00"

H flag sam 716565009 > /dev/null || fail "flag failed"
[ -e "$scratch/rec/sam.json.tmp.AbC123" ] && fail "the orphan of sam survived a change of sam"
[ -e "$scratch/rec/kim.json.tmp.Zz9900" ] || fail "a fresh orphan of another record was removed"
for n in sam.json.tmp.bak sam.json.tmp.ABCDEFG notes.tmp.ABCDEF sam.json.tmp.AB-DEF; do
    [ "$(cat "$scratch/rec/$n")" = keep ] || fail "$n is not ours and was touched"
done
[ -L "$scratch/rec/sam.json.tmp.Link00" ] || fail "a planted link was removed"
[ "$(cat "$scratch/target")" = target ] || fail "the link's target was changed"
rm "$scratch/rec/sam.json.tmp.Link00"

# An old orphan of a record nobody is changing goes at the next command.
touch -d '20 minutes ago' "$scratch/rec/kim.json.tmp.Zz9900"
H open sam > /dev/null || fail "open failed"
[ -e "$scratch/rec/kim.json.tmp.Zz9900" ] && fail "a stale orphan survived"

# A command killed while it writes the record (the file-size limit sends
# SIGXFSZ in the middle of the temporary): the next command leaves nothing.
cp "$scratch/rec/sam.json" "$scratch/before.json"
( ulimit -f 2; exec "$host" --records "$scratch/rec" --journal "$scratch/j" \
    --key "$scratch/key" --user G1000001 --role clinician --ods A11111 \
    flag sam 713834002 ) > /dev/null 2>&1
rc=$?
[ "$rc" -gt 128 ] || fail "the write was expected to die of SIGXFSZ (status $rc)"
cmp -s "$scratch/before.json" "$scratch/rec/sam.json" || fail "a killed write changed the record"
H review sam "$(jq -r '.entry[].resource | select(.resourceType=="Flag") | .identifier[0].value' \
    "$scratch/rec/sam.json" | head -1)" > /dev/null 2>&1 || fail "review after the kill"
[ -z "$(orphans)" ] || fail "orphans after the next command: $(orphans)"

# Outputs (export -o) have no lock: their orphans go once stale.
mkdir "$scratch/out"
for n in sam.xml.tmp.Old123 sam.xml.tmp.New123 sam.xml.tmp.bak; do echo x > "$scratch/out/$n"; done
touch -d '20 minutes ago' "$scratch/out/sam.xml.tmp.Old123" "$scratch/out/sam.xml.tmp.bak"
H export sam -o "$scratch/out/sam.xml" --to A11111 || fail "export"
[ -e "$scratch/out/sam.xml.tmp.Old123" ] && fail "a stale orphan of the export survived"
[ -e "$scratch/out/sam.xml.tmp.New123" ] || fail "a fresh temporary (maybe another run's) was removed"
[ -e "$scratch/out/sam.xml.tmp.bak" ] || fail "a file not of the pattern was removed"

# A write that fails (no room in the folder) leaves no temporary.
chmod 500 "$scratch/rec"
if ! touch "$scratch/rec/probe" 2>/dev/null; then
    H flag sam 716565009 > /dev/null 2>&1 && fail "flag into a read-only folder succeeded"
    [ -z "$(orphans)" ] || fail "a failed write left $(orphans)"
fi
chmod 700 "$scratch/rec"; rm -f "$scratch/rec/probe"

# A link planted in a record's place is refused, and its target untouched.
echo target > "$scratch/victim"
ln -s "$scratch/victim" "$scratch/rec/lnk.json"
for cmd in "open lnk" "flag lnk 716565009"; do
    # shellcheck disable=SC2086
    H $cmd > /dev/null 2> "$scratch/e" && fail "'$cmd' followed a planted link"
    grep -q 'is a symbolic link, not a record' "$scratch/e" || fail "message: $(cat "$scratch/e")"
done
[ "$(cat "$scratch/victim")" = target ] || fail "the link's target was written"
rm "$scratch/rec/lnk.json"

# A records folder anyone may write to is refused.
chmod 777 "$scratch/rec"
H open sam > /dev/null 2> "$scratch/e"; rc=$?
chmod 700 "$scratch/rec"
[ $rc -eq 3 ] || fail "a world-writable records folder should exit 3, got $rc"
grep -q 'writable by others' "$scratch/e" || fail "message: $(cat "$scratch/e")"

# FIFOs are refused, at once.
mkfifo "$scratch/key.fifo" "$scratch/in.fifo" || skip "mkfifo failed"
timeout 20 "$host" --records "$scratch/rec" --journal "$scratch/j" --key "$scratch/key.fifo" \
    --user G1000001 --role clinician open sam 2> "$scratch/e"; rc=$?
[ $rc -ne 124 ] || fail "a FIFO as --key hangs"
[ $rc -eq 4 ] || fail "a FIFO as --key should exit 4, got $rc"
grep -q 'key_file.*FIFO' "$scratch/e" || fail "message: $(cat "$scratch/e")"
H import "$scratch/in.fifo" 2> "$scratch/e"; rc=$?
[ $rc -ne 124 ] || fail "a FIFO as the import file hangs"
[ $rc -eq 4 ] || fail "a FIFO import should exit 4, got $rc"
grep -q 'FIFO' "$scratch/e" || fail "message: $(cat "$scratch/e")"
echo "plugin temporaries: ok"
