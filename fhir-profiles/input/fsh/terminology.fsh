// CodeSystems and ValueSets of the CSE risk marker.
//
// SNOMED CT codes come from DESIGN.md section 3 and nowhere else: do not add
// codes here that are not in that table.

CodeSystem: SafeguardingMarkerCategory
Id: safeguarding-marker-category
Title: "Safeguarding marker category"
Description: "Categories of safeguarding markers on a patient record. Used alongside flag-category#safety to say which kind of safeguarding concern a marker records."
* ^caseSensitive = true
* ^content = #complete
* insert Metadata
* #cse "Child sexual exploitation" "The child has been, or may have been, at risk of child sexual exploitation."

CodeSystem: CSEMarkerEndReason
Id: cse-marker-end-reason
Title: "CSE marker end reason"
Description: "Why a CSE risk marker was ended (made inactive). A marker is never deleted: ending it sets status inactive, an end date and one of these reasons."
* ^caseSensitive = true
* ^content = #complete
* insert Metadata
* #no-longer-at-risk "No longer at risk" "A clinician has reviewed the child and judged that the child is no longer at risk of sexual exploitation."
* #reached-adulthood "Reached adulthood" "The patient has turned 18; the child safeguarding marker no longer applies."
* #superseded "Superseded" "The marker has been replaced by another marker (for example a corrected code or a marker received on transfer)."
* #other "Other" "Any other reason; the clinical record holds the detail."

ValueSet: CSEMarkerEndReasonVS
Id: cse-marker-end-reason
Title: "CSE marker end reason"
Description: "All reasons for ending a CSE risk marker."
* insert Metadata
* include codes from system CSEMarkerEndReason

ValueSet: CSEMarkerCodes
Id: cse-marker-codes
Title: "CSE marker codes"
Description: "SNOMED CT concepts that ARE a child sexual exploitation risk marker. A record entry coded with one of these concept ids is a CSE marker."
* insert Metadata
* $sct#716565009 "At increased risk of child sexual exploitation"
* $sct#713834002 "Victim of child sexual exploitation"
* $sct#919461000000108 "At risk of sexual exploitation"

ValueSet: RelatedSafeguardingCodes
Id: related-safeguarding-codes
Title: "Related safeguarding codes"
Description: "SNOMED CT concepts that suggest a child may need a CSE risk marker but are not a marker themselves. A child with one of these and no marker is 'possibly unflagged'. These codes never create a marker by themselves."
* insert Metadata
* $sct#836881000000105 "Child is cause for safeguarding concern"
* $sct#1064961000000107 "Child in family is safeguarding concern"
* $sct#342191000000101 "Subject to child protection plan"
* $sct#160877008 "Child at risk"
* $sct#700226009 "Victim of sexual grooming"
* $sct#700253008 "Suspected victim of sexual grooming"
* $sct#1188261000000103 "At risk of criminal exploitation"

ValueSet: CSEMarkerObservationStatus
Id: cse-marker-observation-status
Title: "CSE marker Observation status"
Description: "Observation statuses allowed for the Observation form of a CSE risk marker: a recorded marker is final (or amended); a marker recorded in error is entered-in-error."
* insert Metadata
* $observation-status#final "Final"
* $observation-status#amended "Amended"
* $observation-status#entered-in-error "Entered in Error"

CodeSystem: CSEMeasure
Id: cse-measure
Title: "CSE marker measures"
Description: "Measures of the ICS CSE marker report (one per Measure group) and the stratifier they are broken down by. Codes are the measure names used in the CSV output."
* ^caseSensitive = true
* ^content = #complete
* insert Metadata
* #cse_marker_coverage "CSE marker coverage" "Children (under 18) with an active CSE marker / registered children."
* #cse_marker_nopat "CSE markers labelled NOPAT" "Active CSE markers carrying the NOPAT security label / active CSE markers."
* #cse_marker_review_overdue "CSE marker review overdue" "Active CSE markers past their review date / active CSE markers."
* #cse_marker_standard_code "CSE markers with a standard code" "Active CSE markers coded with a concept id from the CSE marker ValueSet / active CSE markers."
* #cse_possibly_unflagged "Children possibly unflagged" "Children with a related safeguarding code and no CSE marker / registered children."
* #cse_marker_survived_transfer "CSE markers that survived GP2GP transfer" "Children who arrived by GP2GP transfer with a CSE marker at the sending practice and still have it / children who arrived with one."
* #practice "Practice" "Stratifier: the GP practice, identified by its ODS code."

ValueSet: CSEMeasureVS
Id: cse-measure
Title: "CSE marker measures"
Description: "The six measures of the ICS CSE marker report (one per Measure and MeasureReport group); the stratifier code is not included."
* insert Metadata
* CSEMeasure#cse_marker_coverage
* CSEMeasure#cse_marker_nopat
* CSEMeasure#cse_marker_review_overdue
* CSEMeasure#cse_marker_standard_code
* CSEMeasure#cse_possibly_unflagged
* CSEMeasure#cse_marker_survived_transfer
