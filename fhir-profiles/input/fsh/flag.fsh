Profile: CSERiskMarkerFlag
Parent: Flag
Id: cse-risk-marker-flag
Title: "CSE risk marker"
Description: "A child sexual exploitation (CSE) risk marker on a child's record: a coded, dated, attributed statement that the child has been, or may have been, at risk of sexual exploitation. Based on core Flag and conforming to UK Core Flag (https://fhir.hl7.org.uk/StructureDefinition/UKCore-Flag: must-support on status, code and subject). Always labelled NOPAT."
* insert Metadata
* ^purpose = "Inquiry into child sexual exploitation in Telford and Wrekin (2022), recommendation 47: a marker on a patient's file showing the patient has been or may have been at risk of exploitation, that follows the record when the patient moves to another practice."
* obeys cse-flag-2 and cse-flag-3 and cse-flag-4
* insert NopatRequired
* extension contains
    CSEReviewDate named reviewDate 1..1 MS and
    CSEEndReason named endReason 0..1 MS and
    CSELastReviewed named lastReviewed 0..1 MS and
    $flag-detail named detail 0..1 MS
* extension[reviewDate] ^short = "Date by which the marker must next be reviewed"
* extension[lastReviewed] ^short = "Date the marker was last reviewed (absent until then)"
* extension[endReason] ^short = "Why the marker was ended (only when status is inactive)"
* extension[endReason] obeys cse-flag-1
* extension[detail] ^short = "The Observation form of the same marker"
* extension[detail].value[x] only Reference(CSERiskMarkerObservation)
// UK Core Flag: status, code and subject are must-support.
* status MS
* status ^short = "active | inactive | entered-in-error (ending a marker sets inactive, never deletes)"
* category 2..* MS
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category ^slicing.description = "Both the core safety category and the CSE safeguarding category are required."
* category contains
    safety 1..1 MS and
    cse 1..1 MS
* category[safety] = $flag-category#safety
* category[cse] = SafeguardingMarkerCategory#cse
* code MS
* code from CSEMarkerCodes (required)
* code ^short = "SNOMED CT concept id from the CSE marker ValueSet"
* insert ChildSubject
* period 1..1 MS
* period obeys cse-period-1
* period.start 1..1 MS
* period.start ^short = "Date the concern was recorded"
* period.end MS
* period.end ^short = "Date the marker was ended (only when status is inactive)"
* author 1..1 MS
* author only Reference(Practitioner or PractitionerRole or Organization)
* author ^short = "Who recorded the marker: a practitioner (role) at a practice with an ODS code, or the practice"
