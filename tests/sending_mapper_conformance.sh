#!/bin/sh
# SPDX-License-Identifier: MIT
# fhir2ehr against the national sending adaptor's per-mapper fixtures
# (../shared/conformance/nia/fhir-to-ehr/mapper/: a FHIR input and the HL7
# fragment the adaptor's mapper writes from it). The comparison itself is
# tests/sending_mapper_conformance.py (its docstring says what "equivalent"
# means); this asserts the floor measured so far, so a change that loses a
# fixture fails. Raise FLOOR as mappers are added; the bar is 95%.
#
# Exception classes the harness prints, and why they are not compared:
#   - "fragment not well-formed XML or no statement in it": fragments with an
#     unbound prefix or mismatched tags (the adaptor's tests compare them as
#     text), or only a part of a statement (a code, a value, a participant);
#   - "no input paired by name": the adaptor pairs these in its Java test
#     code with an input whose name is unlike the fragment's;
#   - "refused by fhir2ehr": inputs we refuse by design (an invalid NHS
#     number left in place, a malformed date).
# Named fixtures of the consultation folders that are not equivalent, and why:
#   - encounter/sample-ehr-composition-component.xml: the mocked components
#     mapper's output in EncounterMapperTest, not an expected fragment;
#   - encountercomponents/expected-components-14-category-codes.xml: only
#     the DocumentReference's NarrativeStatement inside differs (the
#     documentreference mapper's work); expected-components-with-nopat.xml is
#     written in Java from the observation folder's bundle (unpaired);
#   - encountercomponents/contained-resources: output-empty.xml is empty
#     (nothing to compare); the others differ only inside the allergy's
#     ObservationStatement (its annotation text: the allergy mapper's work);
#   - non_consultation_bundles: what remains is inside the statements (the
#     observation, blood pressure, pathology, document, plan, referral and
#     medication mappers), not the composition;
#   - organization/output_organization_1.xml, agent-directory/*.xml and
#     practitioner/expected-agent-person-with-organization-only.xml: the
#     adaptor writes an organisation named as an agent as an agentPerson
#     whose family name is the organisation's name; we write agentOrganization
#     with its ODS code, so that the receiver reads an Organization back, not
#     a practitioner (a deliberate difference); the agent-directory ones are
#     also unpaired and mock every practitioner;
#   - codeableconcept/topic and category, participant, the message wrappers:
#     fragments with no input (the adaptor builds them in Java from values,
#     not from a resource in these folders).
# practitioner/practitioner-role gets AgentPersonMapperTest's context (the
# practitioner folder's Practitioner and Organization), built in the .py.
# The encounter folder's context is EncounterMapperTest's own message
# context (a dated consultation List and the Location), built in the .py.
# Not exceptions but narrowed comparisons (the harness says why): a code the
# adaptor's test mocked ("Mocked code") and the statements inside the
# encounter fixtures' compositions (a mocked components mapper).
. "${top_srcdir:-$(dirname "$0")/..}/tests/testlib.sh"
FLOOR=128
conv="$top_builddir/cse-convert"
mapper="$CSE_SHARED_DIR/conformance/nia/fhir-to-ehr/mapper"
[ -n "$CSE_SHARED_DIR" ] && [ -d "$mapper" ] || skip "no mapper fixtures (set CSE_SHARED_DIR)"
command -v python3 > /dev/null 2>&1 || skip "no python3"
python3 "$top_srcdir/tests/sending_mapper_conformance.py" "$conv" "$mapper" "$scratch" \
    > "$scratch/tally" 2> "$scratch/err" || fail "the harness failed: $(cat "$scratch/err")"
cat "$scratch/tally"
got=$(sed -n 's/^equivalent: \([0-9]*\)\/.*/\1/p' "$scratch/tally")
[ -n "$got" ] || fail "no tally"
[ "$got" -ge "$FLOOR" ] || fail "$got fixtures equivalent, fewer than the floor $FLOOR"
