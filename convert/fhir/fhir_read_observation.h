/* SPDX-License-Identifier: MIT */
/* The FHIR reader's Observation parts that have no place of their own in the
 * record model: which Observations are blood pressure batteries, and the
 * texts the sending adaptor writes for what HL7 cannot carry (a battery's
 * note, the components of any other Observation, values of types without an
 * HL7 form). Pure functions of the parsed resource; fhir_read.c builds the
 * entries. */
#ifndef CSE_FHIR_READ_OBSERVATION_H
#define CSE_FHIR_READ_OBSERVATION_H

#include <stdbool.h>

#include "internal.h"
#include "jsonv.h"

typedef enum cse__bp_role {
    CSE__BP_NONE = 0,
    CSE__BP_SYSTOLIC,
    CSE__BP_DIASTOLIC
} cse__bp_role;

/* What a component measures, by its SNOMED CT codes (the sending adaptor's
 * systolic and diastolic lists: arterial, plain, standing, sitting, lying). */
cse__bp_role cse__fhir_bp_role(const jv *component);

/* True when the Observation is a blood pressure: its components are a
 * systolic and/or a diastolic reading and nothing else, and it has no value
 * of its own. It is then written
 * as a BATTERY CompoundStatement holding one ObservationStatement per reading
 * and a NarrativeStatement with what else it says, as the adaptor's
 * BloodPressureMapper writes it. */
bool cse__fhir_is_blood_pressure(const jv *o);

/* The component of that role, NULL when there is none. */
const jv *cse__fhir_bp_component(const jv *o, cse__bp_role role);

/* A battery's or reading's code as the adaptor's BP code mapper writes it:
 * the SNOMED CT concept (not a description id) as the code, the other
 * codings as translations, the text (else the picked description's term,
 * else the concept's) as originalText. c must be zeroed. Returns CSE_OK or
 * CSE_ERR_NOMEM. */
cse_code cse__fhir_bp_concept(const jv *cc, cse_concept *c);

/* A CodeableConcept's text, else the first coding's picked description
 * (sctdescid descriptionDisplay), else its display (the adaptor's
 * extractTextOrCoding); NULL when none. Lent from cc. */
const char *cse__fhir_text_or_coding(const jv *cc);

/* The battery's note: the comment, "Measurement Site: ..", "Systolic
 * Measurement Absent: ..", "Diastolic Measurement Absent: ..",
 * "Interpretation(s): a, b, c", joined by spaces. *out is NULL when there is
 * nothing to say. Returns CSE_OK or CSE_ERR_NOMEM.
 * Ownership: the caller frees *out. */
cse_code cse__fhir_bp_note(const jv *o, char **out);

/* The text the adaptor puts first in an ObservationStatement's annotation
 * for what it cannot structure: "Component(s): [..] [..] " for the
 * components of an Observation that is not a battery, then a value of a type
 * HL7 has no place for ("Code Value: ..", "Range Value: ..", "Ratio Value:
 * ..", "Time Value: ..", "DateTime Value: ..", "Period Value: ..",
 * "Boolean Value: .."). *out is NULL when there is none.
 * Returns CSE_OK or CSE_ERR_NOMEM. Ownership: the caller frees *out. */
cse_code cse__fhir_observation_pretext(const jv *o, char **out);

/* True when the Observation's value is carried only as text (the value
 * types of cse__fhir_observation_pretext()). */
bool cse__fhir_value_is_text_only(const jv *o);

#endif
