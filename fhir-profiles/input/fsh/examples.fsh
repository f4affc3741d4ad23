// Examples of the CSE risk marker. All people, numbers and codes of
// organisations are synthetic: NHS numbers are from the 999 test range and
// pass the modulus 11 check; ODS codes are made up.

Instance: example-child
InstanceOf: Patient
Title: "Example child"
Description: "A synthetic child patient."
Usage: #example
* identifier.system = $nhs-number
* identifier.value = "9990012377"
* name.family = "Example"
* name.given = "Alex"
* gender = #unknown
* birthDate = "2011-05-04"
* generalPractitioner = Reference(example-practice)

Instance: example-practice
InstanceOf: Organization
Title: "Example practice"
Description: "A synthetic GP practice."
Usage: #example
* identifier.system = $ods
* identifier.value = "A99001"
* name = "Example Medical Practice"

Instance: example-gp
InstanceOf: Practitioner
Title: "Example GP"
Description: "A synthetic general practitioner."
Usage: #example
* identifier.system = $sds-user
* identifier.value = "999999999999"
* name.family = "Doctor"
* name.given = "Sam"
* name.prefix = "Dr"

Instance: example-gp-role
InstanceOf: PractitionerRole
Title: "Example GP at the example practice"
Description: "The example GP working at the example practice: the author of the example markers."
Usage: #example
* practitioner = Reference(example-gp)
* organization = Reference(example-practice)
* organization.identifier.system = $ods
* organization.identifier.value = "A99001"

RuleSet: Nopat
* meta.security[nopat] = $v3-ActCode#NOPAT "no disclosure to patient, family or caregivers without attending provider's authorization"

RuleSet: MarkerSubject
* subject = Reference(example-child)
* subject.identifier.system = $nhs-number
* subject.identifier.value = "9990012377"

Instance: cse-marker-flag-active
InstanceOf: CSERiskMarkerFlag
Title: "Active CSE risk marker"
Description: "An active CSE risk marker recorded by a GP, due for review six months after it was recorded, pointing to its Observation form."
Usage: #example
* insert Nopat
* extension[reviewDate].valueDate = "2025-09-14"
* extension[detail].valueReference = Reference(cse-marker-observation)
* status = #active
* category[safety] = $flag-category#safety "Safety"
* category[cse] = SafeguardingMarkerCategory#cse "Child sexual exploitation"
* code = $sct#716565009 "At increased risk of child sexual exploitation"
* insert MarkerSubject
* period.start = "2025-03-14"
* author = Reference(example-gp-role)

Instance: cse-marker-flag-ended
InstanceOf: CSERiskMarkerFlag
Title: "Ended CSE risk marker"
Description: "A CSE risk marker that a clinician ended after review: inactive, with an end date and an end reason. It stays on the record."
Usage: #example
* insert Nopat
* extension[reviewDate].valueDate = "2024-04-02"
* extension[endReason].valueCoding = CSEMarkerEndReason#no-longer-at-risk "No longer at risk"
* status = #inactive
* category[safety] = $flag-category#safety "Safety"
* category[cse] = SafeguardingMarkerCategory#cse "Child sexual exploitation"
* code = $sct#713834002 "Victim of child sexual exploitation"
* insert MarkerSubject
* period.start = "2023-10-02"
* period.end = "2024-03-28"
* author = Reference(example-gp-role)

Instance: cse-marker-observation
InstanceOf: CSERiskMarkerObservation
Title: "CSE risk marker as an Observation"
Description: "The active marker in its Observation form, as GP2GP and GP Connect carry it."
Usage: #example
* insert Nopat
* extension[reviewDate].valueDate = "2025-09-14"
* status = #final
* category[cse] = SafeguardingMarkerCategory#cse "Child sexual exploitation"
* code = $sct#716565009 "At increased risk of child sexual exploitation"
* insert MarkerSubject
* effectivePeriod.start = "2025-03-14"
* performer = Reference(example-gp-role)

Instance: cse-marker-observation-ended
InstanceOf: CSERiskMarkerObservation
Title: "Ended CSE risk marker as an Observation"
Description: "The ended marker in its Observation form: effectivePeriod has an end and the end reason is given."
Usage: #example
* insert Nopat
* extension[reviewDate].valueDate = "2024-04-02"
* extension[endReason].valueCoding = CSEMarkerEndReason#no-longer-at-risk "No longer at risk"
* status = #final
* category[cse] = SafeguardingMarkerCategory#cse "Child sexual exploitation"
* code = $sct#713834002 "Victim of child sexual exploitation"
* insert MarkerSubject
* effectivePeriod.start = "2023-10-02"
* effectivePeriod.end = "2024-03-28"
* performer = Reference(example-gp-role)

Instance: cse-marker-bundle
InstanceOf: Bundle
Title: "A child's CSE marker with its context"
Description: "A collection Bundle with the child, the practice, the author and the marker in both forms."
Usage: #example
* type = #collection
* entry[0].fullUrl = "https://example.org/fhir/Patient/example-child"
* entry[0].resource = example-child
* entry[1].fullUrl = "https://example.org/fhir/Organization/example-practice"
* entry[1].resource = example-practice
* entry[2].fullUrl = "https://example.org/fhir/Practitioner/example-gp"
* entry[2].resource = example-gp
* entry[3].fullUrl = "https://example.org/fhir/PractitionerRole/example-gp-role"
* entry[3].resource = example-gp-role
* entry[4].fullUrl = "https://example.org/fhir/Flag/cse-marker-flag-active"
* entry[4].resource = cse-marker-flag-active
* entry[5].fullUrl = "https://example.org/fhir/Observation/cse-marker-observation"
* entry[5].resource = cse-marker-observation
