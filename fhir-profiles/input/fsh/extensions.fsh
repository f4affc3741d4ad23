// Extensions of the CSE risk marker. Core Flag and Observation have no
// review date and no reason for ending, so both travel in our own extensions.

Extension: CSEReviewDate
Id: cse-review-date
Title: "CSE marker review date"
Description: "The date by which the CSE risk marker must next be reviewed by a clinician. Required on every marker; by default the start date plus six months."
Context: Flag, Observation
* insert Metadata
* value[x] 1..1
* value[x] only date

Extension: CSEEndReason
Id: cse-end-reason
Title: "CSE marker end reason"
Description: "Why the CSE risk marker was ended. Present only on an ended marker (Flag.status inactive; Observation with effectivePeriod.end)."
Context: Flag, Observation
* insert Metadata
* value[x] 1..1
* value[x] only Coding
* valueCoding from CSEMarkerEndReasonVS (required)
* valueCoding.system 1..1
* valueCoding.code 1..1

Extension: CSEPracticesCovered
Id: cse-practices-covered
Title: "Practices covered by a total"
Description: "How many practices the counts of a MeasureReport group (the ICS total) cover. The total is computed from every practice's true counts and then protected like any cell, so it includes the practices whose own cells are redacted."
Context: MeasureReport.group
* insert Metadata
* value[x] 1..1
* value[x] only integer

Extension: CSELastReviewed
Id: cse-last-reviewed
Title: "CSE marker last reviewed"
Description: "The date a clinician last reviewed the CSE risk marker. Absent until the first review. GP2GP carries it in the marker's csemarker annotation (last-reviewed)."
Context: Flag, Observation
* insert Metadata
* value[x] 1..1
* value[x] only date
