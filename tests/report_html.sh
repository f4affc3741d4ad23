#!/bin/sh
# SPDX-License-Identifier: MIT
# The HTML report: self-contained (nothing loaded from anywhere), periods in
# chronological order (by end, mixed lengths too), a funnel plot, a ranked
# chart and a trend per measure with no chart left empty (a single period says
# why it has no trend instead of drawing an empty one), readable labels at 100
# practices; and rendered by headless Chromium at several window sizes: every
# chart in the DOM after load has marks, and no screenshot is blank.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
"$rep" synth --seed 11 --practices 6 --patients 800 -o "$scratch/ics" || fail "synth failed"
report_keys "$scratch/k" 800 $(cat "$scratch/ics/practices.txt")
for ods in $(cat "$scratch/ics/practices.txt"); do
    for q in 3 4; do
        "$rep" extract --practice "$ods" --period "2025-Q$q" $(xkeys "$ods") \
            -o "$scratch/$ods-$q.json" "$scratch/ics/$ods" || fail "extract failed"
    done
done
# A one-day period ending between the two quarters, for two practices (one
# period per practice: the multi-period page has no Q4 for them).
for ods in $(head -2 "$scratch/ics/practices.txt"); do
    "$rep" extract --practice "$ods" --period 2025-12-04..2025-12-04 $(xkeys "$ods") \
        -o "$scratch/$ods-d.json" "$scratch/ics/$ods" || fail "extract of a day failed"
done
# Transfers linked over every practice for the quarters. The multi-period
# page: Q3 of all, Q4 of four, the day of two: the day has no linkage
# (transfers not measured), and Q4 and the day cover a subset of the
# registry, so they publish no total and no funnel plot, and say why.
link_all "$scratch/linked.json" "$scratch"/Y*-[34].json
set -- $(cat "$scratch/ics/practices.txt")
multi_parts="$(ls "$scratch"/Y*-3.json) $scratch/$1-d.json $scratch/$2-d.json $(for o in $3 $4 $5 $6; do echo "$scratch/$o-4.json"; done)"
# shellcheck disable=SC2086
"$rep" merge $trust $multi_parts "$scratch/linked.json" --format html -o "$scratch/multi.html" 2> /dev/null ||
    fail "merge failed"
"$rep" merge $trust "$scratch"/Y*-4.json "$scratch/linked.json" --format html -o "$scratch/single.html" ||
    fail "merge failed"
"$rep" synth --seed 12 --practices 100 --patients 150 -o "$scratch/big" || fail "synth of 100 failed"
trust_six=$trust
report_keys "$scratch/kb" 150 $(cat "$scratch/big/practices.txt")
for ods in $(cat "$scratch/big/practices.txt"); do
    "$rep" extract --practice "$ods" --period 2025-Q4 --signing-key "$kd/$ods.pem" -o "$scratch/big-$ods.json" \
        "$scratch/big/$ods" || fail "extract failed"
done
"$rep" merge $trust "$scratch"/big-*.json --format html -o "$scratch/big.html" 2> /dev/null || fail "merge of 100 failed"
trust=$trust_six
kd=$scratch/k

# charts_have_marks FILE: every chart (inline SVG) holds at least one mark (a
# dot, a bar or a drawn line); prints the number of charts.
charts_have_marks() {
    awk 'BEGIN { RS = "<svg " } NR > 1 && /^[^>]*class="chart/ {
            charts++
            kind = $0; sub(/^[^"]*"chart /, "", kind); sub(/".*/, "", kind)
            marks = gsub(/<circle|<rect|d="M[0-9]/, "&")
            if (marks == 0) { print "an empty " kind " chart" > "/dev/stderr"; bad = 1 }
        }
        END { print charts + 0; exit bad }' "$1"
}
for f in multi single big; do
    html=$scratch/$f.html
    grep -Eiq '<script[^>]+src=|<link[^>]+href=|<img|@import|url\(|https?://[^"]*\.(js|css|woff)' "$html" &&
        fail "$f: the page loads something from outside"
    charts_have_marks "$html" > "$scratch/$f.charts" || fail "$f: a chart is empty"
done
# Single period, every practice: funnel, ranked charts for the measures
# with a published ICS rate. Multi-period: trends; the periods by end: 09-30,
# then the day 12-04, then 12-31.
[ "$(grep -c '<svg class="chart deciles"' "$scratch/multi.html")" -ge 4 ] || fail "too few trend charts"
[ "$(grep -c '<svg class="chart funnel"' "$scratch/single.html")" -ge 3 ] || fail "too few funnel plots"
grep -q '<path class="limit l998" d="M' "$scratch/single.html" || fail "no 99.8% limit drawn"
grep -q '<path class="limit l95" d="M' "$scratch/single.html" || fail "no 95% limit drawn"
# The seams: not measured cells say so (never [REDACTED]); a period covering
# part of the registry has no total and no funnel, and says why.
grep -q '<span class=nm>not measured</span> / <span class=nm>not measured</span>' "$scratch/multi.html" ||
    fail "a not-measured transfer cell is not shown as not measured"
grep -Eq 'practice-periods are not measured \(no ICS-wide linked partial\) and left out of the trend|No practice is measured, or has a published rate, in any period \(not measured' \
    "$scratch/multi.html" || fail "the trend does not say it leaves out the cells not measured"
[ "$(grep -c 'No funnel plot: no ICS total is published: the report does not cover every practice' "$scratch/multi.html")" -eq 6 ] ||
    fail "the multi-period page does not say why it has no funnel plot"
grep -q 'not published: covers 4 of the 6 practices of the registry' "$scratch/multi.html" ||
    fail "the total of a subset does not say it is not published"
# shellcheck disable=SC2086
"$rep" merge $trust "$scratch"/Y*-4.json --format html -o "$scratch/nolink.html" 2> /dev/null ||
    fail "merge without the linked partial failed"
grep -q 'No funnel plot: this measure is not measured' "$scratch/nolink.html" ||
    fail "the transfer measure without linkage does not say why it has no funnel"
grep -q '<path class="decile median" d="M' "$scratch/multi.html" || fail "no median line"
order=$(grep -o '<th>2025-[0-9-]* to 2025-[0-9-]*</th>' "$scratch/multi.html" | head -3 |
    sed 's/<[^>]*>//g' | tr '\n' ';')
[ "$order" = "2025-07-01 to 2025-09-30;2025-12-04 to 2025-12-04;2025-10-01 to 2025-12-31;" ] ||
    fail "periods out of order: $order"
# The CSV lists the periods in the same order.
# shellcheck disable=SC2086
"$rep" merge $trust $multi_parts "$scratch/linked.json" --format csv -o "$scratch/multi.csv" 2> /dev/null ||
    fail "merge csv failed"
csv_order=$(awk -F, 'NR > 1 && $3 != last { printf "%s;", $3; last = $3 }' "$scratch/multi.csv")
[ "$csv_order" = "2025-09-30;2025-12-04;2025-12-31;" ] || fail "CSV periods out of order: $csv_order"
grep -q '<svg class="chart funnel" [^>]*><title>Funnel plot, period ending 2025-12-31' \
    "$scratch/single.html" || fail "the funnel plot is not of the period that ends last"
# Single period: no trend chart, a sentence instead.
grep -q '<svg class="chart deciles"' "$scratch/single.html" && fail "a trend chart for one period"
[ "$(grep -c 'One period only: there is no trend to draw' "$scratch/single.html")" -eq 6 ] ||
    fail "the single-period report does not say why it has no trend"
# Practices outside the limits first: in every consultation table, the
# standing classes never go back (s0 before s1 ... before s5).
awk 'BEGIN { RS = "<table class=\"consult\">" } NR > 1 {
        last = -1; n = split($0, parts, "<tr class=\"s")
        for (i = 2; i <= n; i++) {
            s = substr(parts[i], 1, 1) + 0
            if (s < last) { print "table " NR - 1 ": standing " s " after " last; exit 1 }
            last = s
        }
    }' "$scratch/multi.html" || fail "practices outside the limits are not listed first"
# 100 practices: the ranked chart's practice labels are at least 12 px apart.
awk 'BEGIN { RS = "<svg " } /^[^>]*class="chart bars"/ {
        n = 0
        while (match($0, /<text class="?axis"? x="[0-9.]+" y="[0-9.]+" text-anchor="end">[A-Z][0-9]+</)) {
            t = substr($0, RSTART, RLENGTH); $0 = substr($0, RSTART + RLENGTH)
            sub(/.* y="/, "", t); sub(/".*/, "", t); y[++n] = t + 0
        }
        if (n < 100) { print "only " n " labels"; exit 1 }
        for (i = 2; i <= n; i++) if (y[i] - y[i - 1] < 12) { print "labels " y[i-1] " and " y[i]; exit 1 }
        exit 0
    }' "$scratch/big.html" || fail "practice labels overlap at 100 practices"

for b in chromium chromium-browser google-chrome; do
    command -v $b > /dev/null && { browser=$b; break; }
done
[ -n "$browser" ] || skip "chromium not found (apt-get install chromium); static checks passed"
# chrome ARGS...: headless, offline, with a fresh profile.
chrome() {
    profile=$(mktemp -d "$scratch/profile.XXXXXX")
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
        --user-data-dir="$profile" "$@" 2> "$scratch/chromium.err"
}
# A blank page of the same size, to tell a blank screenshot from a drawn one.
printf '<!DOCTYPE html><html><body></body></html>\n' > "$scratch/blank.html"
for size in 390,844 1024,768 1600,1000; do
    chrome --window-size=$size --screenshot="$scratch/blank-$size.png" "file://$scratch/blank.html" ||
        fail "chromium failed: $(tail -3 "$scratch/chromium.err")"
    blank=$(wc -c < "$scratch/blank-$size.png")
    for f in multi single big; do
        [ $f = multi ] || [ $size = 1024,768 ] || continue
        chrome --window-size=$size --dump-dom "file://$scratch/$f.html" > "$scratch/$f-$size.dom" ||
            fail "chromium failed: $(tail -3 "$scratch/chromium.err")"
        n=$(charts_have_marks "$scratch/$f-$size.dom") || fail "$f at $size: an empty chart in the DOM"
        [ "$n" -eq "$(cat "$scratch/$f.charts")" ] && [ "$n" -gt 0 ] ||
            fail "$f at $size: $n charts in the DOM, $(cat "$scratch/$f.charts") in the page"
        chrome --window-size=$size --screenshot="$scratch/$f-$size.png" "file://$scratch/$f.html" ||
            fail "chromium failed: $(tail -3 "$scratch/chromium.err")"
        shot=$(wc -c < "$scratch/$f-$size.png")
        [ "$shot" -gt $((blank * 4)) ] ||
            fail "$f at $size: the screenshot looks blank ($shot bytes, a blank page $blank)"
    done
done
echo "report_html: $(cat "$scratch/multi.charts") + $(cat "$scratch/single.charts") + $(cat "$scratch/big.charts") charts with marks, rendered by $browser at 3 sizes"
