#!/bin/sh
# The HTML report is self-contained and opens in headless Chromium with its
# SVG charts (bars and deciles) present in the rendered DOM.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
rep="$top_builddir/cse-report"
. "${top_srcdir:-$(dirname "$0")/..}/tests/report_keys.sh"
"$rep" synth --seed 11 --practices 6 --patients 800 -o "$scratch/ics" || fail "synth failed"
report_keys "$scratch/k" 800 $(cat "$scratch/ics/practices.txt")
for ods in $(cat "$scratch/ics/practices.txt"); do
    for q in 1 2 3; do
        "$rep" extract --practice "$ods" --period "2025-Q$q" $(xkeys "$ods") \
            -o "$scratch/$ods-$q.json" "$scratch/ics/$ods" || fail "extract failed"
    done
done
link_all "$scratch/linked.json" "$scratch"/Y*.json
"$rep" merge $trust "$scratch"/Y*.json "$scratch/linked.json" --format html -o "$scratch/report.html" || fail "merge failed"
html="$scratch/report.html"
# No external requests: nothing is loaded from anywhere.
grep -Eiq '<script[^>]+src=|<link[^>]+href=|<img|@import|url\(|https?://[^"]*\.(js|css|woff)' "$html" &&
    fail "the page loads something from outside"
[ "$(grep -o '<svg class="chart deciles"' "$html" | wc -l)" -eq 6 ] || fail "expected 6 deciles charts"
[ "$(grep -o '<svg class="chart bars"' "$html" | wc -l)" -eq 6 ] || fail "expected 6 bar charts"
grep -q 'class="decile median"' "$html" || fail "no median line"
for b in chromium chromium-browser google-chrome; do
    command -v $b > /dev/null && { browser=$b; break; }
done
[ -n "$browser" ] || skip "chromium not found (apt-get install chromium); static checks passed"
profile=$(mktemp -d "$scratch/profile.XXXXXX")
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --dump-dom "file://$html" > "$scratch/dom.html" 2> "$scratch/chromium.err" ||
    fail "chromium failed: $(tail -3 "$scratch/chromium.err")"
[ "$(grep -o '<svg class="chart deciles"' "$scratch/dom.html" | wc -l)" -eq 6 ] ||
    fail "the rendered DOM lacks the deciles charts"
grep -q '<path class="decile median" d="M' "$scratch/dom.html" || fail "no median path in the DOM"
grep -q '<rect class="bar" data-practice="Y0' "$scratch/dom.html" || fail "no bars in the DOM"
echo "report_html: charts rendered by $browser"
