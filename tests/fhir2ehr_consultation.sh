#!/bin/sh
# SPDX-License-Identifier: MIT
# fhir2ehr writes a consultation as the sending adaptor's EncounterMapper and
# EncounterComponentsMapper do (test-fixtures/fhir/stu3-topics.json): the
# composition named from the composition-name vocabulary ("Other report"
# and the type's text otherwise, the type kept as a translation), a point
# time when only the start is known, author/time from the consultation
# List's date, the place by name; its topic (the related problem's code,
# the title as text) holding its category (Other category, the title) and
# then what the topic names directly in a category of its own; a NOPAT
# Encounter labels its composition and what it holds; a resource outside
# any consultation gets a composition of its own dated by it; so do resources
# contained in a List, where a consultation names them or not; and a
# practitioner's organisation is written with its name, phone and address.
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
conv="$top_builddir/cse-convert"
fix="$top_srcdir/test-fixtures/fhir/stu3-topics.json"
xmllint=${XMLLINT:-xmllint}
command -v "$xmllint" > /dev/null 2>&1 || skip "no xmllint"
"$conv" fhir2ehr "$fix" --receiver B99002 -o "$scratch/t.xml" 2> "$scratch/err" ||
    fail "exit $?: $(cat "$scratch/err")"
# count XPATH (local names: the extract is in the HL7 namespace)
count() {
    "$xmllint" --xpath "count($1)" "$scratch/t.xml" 2> /dev/null
}
L() { printf '*[local-name()="%s"]' "$1"; }
comp="//$(L ehrComposition)[$(L code)/@code='24591000000103']"
[ "$(count "$comp[$(L code)/$(L originalText)='Surgery visit'][$(L code)/$(L translation)/@code='185317003']")" = 1 ] ||
    fail "the Encounter is not an Other report with its text and type"
[ "$(count "$comp/$(L effectiveTime)/$(L center)[@value='20230502093000']")" = 1 ] ||
    fail "the Encounter with only a start is not dated at a point"
[ "$(count "$comp/$(L author)/$(L time)[@value='20230502094500']")" = 1 ] ||
    fail "author/time is not the consultation List's date"
[ "$(count "$comp/$(L location)/$(L locatedEntity)/$(L locatedPlace)[$(L name)='Branch Surgery']")" = 1 ] ||
    fail "no location"
topic="$comp/$(L component)/$(L CompoundStatement)[@classCode='TOPIC']"
[ "$(count "$topic[$(L code)/@code='195967001'][$(L code)/$(L originalText)='Wheeze']")" = 1 ] ||
    fail "the topic is not coded by its related problem with its title"
cat1="$topic/$(L component)[1]/$(L CompoundStatement)[@classCode='CATEGORY'][$(L code)/@code='394841004'][$(L code)/$(L originalText)='Examination']"
[ "$(count "$cat1/$(L component)/$(L ObservationStatement)[$(L code)/@code='271649006']")" = 1 ] ||
    fail "the category does not hold its observation"
cat2="$topic/$(L component)[2]/$(L CompoundStatement)[@classCode='CATEGORY'][not($(L code)/$(L originalText))]"
[ "$(count "$cat2/$(L component)/$(L ObservationStatement)[$(L code)/@code='56018004']")" = 1 ] ||
    fail "what the topic names directly is not in a category of its own after the others"
[ "$(count "//$(L ObservationStatement)[$(L code)/@code='56018004']")" = 1 ] ||
    fail "an entry of a topic is written twice"
nopat="//$(L ehrComposition)[$(L code)/@code='24561000000109'][$(L confidentialityCode)/@code='NOPAT']"
[ "$(count "$nopat/$(L component)/$(L ObservationStatement)[$(L confidentialityCode)/@code='NOPAT']")" = 1 ] ||
    fail "the NOPAT Encounter's composition or entry is not labelled"
outside="//$(L ehrComposition)[$(L code)/@code='196401000000100'][$(L component)/$(L ObservationStatement)/$(L code)/@code='162763007']"
[ "$(count "$outside/$(L effectiveTime)/$(L center)[@value='20221120']")" = 1 ] ||
    fail "the observation outside a consultation is not in a composition dated by it"
# A resource contained in a List and named "List/id#cid" by the category is
# written there; one no consultation names gets a composition of its own.
[ "$(count "$cat1/$(L component)/$(L ObservationStatement)[$(L code)/@code='248338008']")" = 1 ] ||
    fail "the contained resource named by the category is not in it"
[ "$(count "//$(L ObservationStatement)[$(L code)/@code='248338008']")" = 1 ] ||
    fail "a contained resource is written twice"
[ "$(count "//$(L ehrComposition)[$(L code)/@code='196401000000100'][$(L component)/$(L ObservationStatement)/$(L code)/@code='365981007']")" = 1 ] ||
    fail "the contained resource no consultation names is not in a composition of its own"
# The agentDirectory: the practitioner with its role and the organisation
# it works for, with its name, work phone and address.
org="//$(L agentDirectory)/$(L part)/$(L Agent)[$(L code)/$(L originalText)='General Medical Practitioner']/$(L representedOrganization)[$(L name)='Test Practice']"
[ "$(count "$org[$(L telecom)/@value='tel:01000000000'][$(L addr)/$(L streetAddressLine)='Testtown'][$(L addr)/$(L postalCode)='ZZ99 9ZZ']")" = 1 ] ||
    fail "the practitioner's organisation is not written with its name, phone and address"
echo "fhir2ehr consultation: ok"
