/* SPDX-License-Identifier: MIT */
/* csemarker: FHIR constants shared by every reader and writer.
 *
 * The canonical base of our conformance resources is defined here once; the
 * FHIR Shorthand source (fhir-profiles/sushi-config.yaml) uses the same value
 * and a test checks that they agree. */
#ifndef CSEMARKER_FHIR_H
#define CSEMARKER_FHIR_H

#define CSE_FHIR_BASE "https://csemarker.org/fhir"

#define CSE_FHIR_FLAG_PROFILE CSE_FHIR_BASE "/StructureDefinition/cse-risk-marker-flag"
#define CSE_FHIR_OBS_PROFILE                                                             \
    CSE_FHIR_BASE "/StructureDefinition/cse-risk-marker-observation"
#define CSE_FHIR_EXT_REVIEW_DATE CSE_FHIR_BASE "/StructureDefinition/cse-review-date"
#define CSE_FHIR_EXT_END_REASON CSE_FHIR_BASE "/StructureDefinition/cse-end-reason"
#define CSE_FHIR_EXT_LAST_REVIEWED CSE_FHIR_BASE "/StructureDefinition/cse-last-reviewed"
#define CSE_FHIR_CS_CATEGORY CSE_FHIR_BASE "/CodeSystem/safeguarding-marker-category"
#define CSE_FHIR_CS_END_REASON CSE_FHIR_BASE "/CodeSystem/cse-marker-end-reason"
#define CSE_FHIR_CS_MEASURE CSE_FHIR_BASE "/CodeSystem/cse-measure"
#define CSE_FHIR_VS_MARKER CSE_FHIR_BASE "/ValueSet/cse-marker-codes"
#define CSE_FHIR_VS_RELATED CSE_FHIR_BASE "/ValueSet/related-safeguarding-codes"
#define CSE_FHIR_MEASURE CSE_FHIR_BASE "/Measure/cse-marker-measures"

#define CSE_FHIR_NHS_NUMBER "https://fhir.nhs.uk/Id/nhs-number"
#define CSE_FHIR_ODS "https://fhir.nhs.uk/Id/ods-organization-code"
#define CSE_FHIR_FLAG_CATEGORY "http://terminology.hl7.org/CodeSystem/flag-category"
#define CSE_FHIR_FLAG_DETAIL "http://hl7.org/fhir/StructureDefinition/flag-detail"

/* NOPAT label systems: R4 and STU3 (GP Connect 1.6.2+). */
#define CSE_FHIR_R4_ACTCODE "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#define CSE_FHIR_STU3_ACTCODE "http://hl7.org/fhir/v3/ActCode"

#endif
