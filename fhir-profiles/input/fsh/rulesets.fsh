// Rules shared by the Flag and Observation forms of the marker.

// meta.security must carry NOPAT: no disclosure to the patient, family or
// caregivers. Other security labels may sit beside it.
RuleSet: NopatRequired
* meta 1..1 MS
* meta.security 1..* MS
* meta.security ^slicing.discriminator.type = #pattern
* meta.security ^slicing.discriminator.path = "$this"
* meta.security ^slicing.rules = #open
* meta.security ^slicing.description = "The NOPAT label is required; other labels may be present."
* meta.security contains nopat 1..1 MS
* meta.security[nopat] = $v3-ActCode#NOPAT
* meta.security[nopat] ^short = "NOPAT: no disclosure to patient, family or caregivers"
* meta.security[nopat] ^definition = "The marker is never shown to the patient or to anyone acting for them (proxy access). Receivers match on code alone; the absence of a label never means 'safe to show'."

// The marker is about one child, identified by NHS number.
RuleSet: ChildSubject
* subject 1..1 MS
* subject only Reference(Patient)
* subject obeys cse-subj-1
* subject.reference MS
* subject.identifier MS
* subject.identifier.system 1..1
* subject.identifier.system = $nhs-number
* subject.identifier.value 1..1
* subject.identifier obeys cse-nhs-1
