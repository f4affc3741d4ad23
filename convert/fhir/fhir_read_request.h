/* SPDX-License-Identifier: MIT */
/* The texts the national sending adaptor composes for referrals, plans and
 * documents (what HL7 has no element for goes into the statement's text),
 * built from a FHIR resource and what the reader knows of the resources it
 * names. Private to the FHIR reader. */
#ifndef CSE_FHIR_READ_REQUEST_H
#define CSE_FHIR_READ_REQUEST_H

#include <stdbool.h>

#include "jsonv.h"

/* What the reader kept of other resources, looked up by a Reference.
 * kind "name": an agent's or device's text (see cse__fhir_name_text);
 * kind "summary": a supporting resource's summary (cse__fhir_summary);
 * kind "medication": the text of a Medication's code.
 * Returns NULL when the reference resolves to nothing kept. */
typedef struct cse__fhir_names {
    const char *(*lookup)(void *ctx, const char *kind, const jv *ref);
    void *ctx;
} cse__fhir_names;

/* "Type/id" of a Reference.reference ("Practitioner/1", a URL ending so),
 * into buf; false when it has no such form. */
bool cse__fhir_ref_type_id(const jv *ref, char *buf, size_t size);

/* The text kept for a Practitioner, Organization, Device, RelatedPerson,
 * HealthcareService or Patient, as the sending adaptor names it in a
 * statement's text (a Device: its type, a unit separator, its manufacturer).
 * NULL when the type is none of these or nothing is named. Ownership: the
 * caller frees the result. */
char *cse__fhir_name_text(const jv *o, const char *type);

/* The "{ Observation: 2021-01-01 code }" summary of a resource a referral or
 * plan names as supporting information (Observation, DocumentReference,
 * MedicationRequest, DiagnosticReport, ReferralRequest); NULL for any other
 * type. Ownership: the caller frees the result. */
char *cse__fhir_summary(const jv *o, const cse__fhir_names *n);

/* A ReferralRequest's text: requester, priority ASAP, supporting
 * information, UBRN, services, specialty, recipients (but the first
 * practitioner, who is the responsible party), reason codes, notes, then the
 * description. Ownership: the caller frees the result; NULL on no memory. */
char *cse__fhir_referral_text(const jv *o, const cse__fhir_names *n);

/* A ProcedureRequest's (ServiceRequest's) text: supporting observations,
 * earliest recall date, a requesting organisation or device, reason codes,
 * notes. Ownership: as above. */
char *cse__fhir_plan_text(const jv *o, const cse__fhir_names *n);

/* A DocumentReference's text: type, author and custodian organisations,
 * description, practice setting. Ownership: as above. */
char *cse__fhir_document_text(const jv *o, const cse__fhir_names *n);

#endif
