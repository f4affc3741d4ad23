Profile: CSERiskMarkerObservation
Parent: Observation
Id: cse-risk-marker-observation
Title: "CSE risk marker (Observation form)"
Description: "The same CSE risk marker as an Observation, the form carried by GP2GP and GP Connect structured records, which carry no Flag. Based on core Observation; it conforms to UK Core Observation, whose constraints on these elements are must-support flags only. Always labelled NOPAT. An ended marker has effectivePeriod.end and an end reason."
* insert Metadata
* obeys cse-obs-2
* insert NopatRequired
* extension contains
    CSEReviewDate named reviewDate 1..1 MS and
    CSEEndReason named endReason 0..1 MS and
    CSELastReviewed named lastReviewed 0..1 MS
* extension[reviewDate] ^short = "Date by which the marker must next be reviewed"
* extension[lastReviewed] ^short = "Date the marker was last reviewed (absent until then)"
* extension[endReason] ^short = "Why the marker was ended (only when effectivePeriod.end is present)"
* extension[endReason] obeys cse-obs-1
* status MS
* status from CSEMarkerObservationStatus (required)
* category 1..* MS
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category ^slicing.description = "The CSE safeguarding category is required."
* category contains cse 1..1 MS
* category[cse] = SafeguardingMarkerCategory#cse
* code MS
* code from CSEMarkerCodes (required)
* insert ChildSubject
* effective[x] 1..1 MS
* effective[x] only Period
* effectivePeriod obeys cse-period-1
* effectivePeriod.start 1..1 MS
* effectivePeriod.start ^short = "Date the concern was recorded"
* effectivePeriod.end MS
* effectivePeriod.end ^short = "Date the marker was ended (only when ended)"
* performer 1..1 MS
* performer only Reference(Practitioner or PractitionerRole or Organization)
