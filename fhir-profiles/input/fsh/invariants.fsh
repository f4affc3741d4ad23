// Invariants shared by the Flag and Observation forms of the marker.

Invariant: cse-nhs-1
Description: "An NHS number is 10 digits and passes the modulus 11 check."
Severity: #error
Expression: "value.matches('^[0-9]{10}$') and iif(11 - ((value.substring(0,1).toInteger()*10 + value.substring(1,1).toInteger()*9 + value.substring(2,1).toInteger()*8 + value.substring(3,1).toInteger()*7 + value.substring(4,1).toInteger()*6 + value.substring(5,1).toInteger()*5 + value.substring(6,1).toInteger()*4 + value.substring(7,1).toInteger()*3 + value.substring(8,1).toInteger()*2) mod 11) = 11, 0, 11 - ((value.substring(0,1).toInteger()*10 + value.substring(1,1).toInteger()*9 + value.substring(2,1).toInteger()*8 + value.substring(3,1).toInteger()*7 + value.substring(4,1).toInteger()*6 + value.substring(5,1).toInteger()*5 + value.substring(6,1).toInteger()*4 + value.substring(7,1).toInteger()*3 + value.substring(8,1).toInteger()*2) mod 11)) = value.substring(9,1).toInteger()"

Invariant: cse-subj-1
Description: "The patient is identified by a resource reference or by the NHS number identifier (or both)."
Severity: #error
Expression: "reference.exists() or identifier.exists()"

// cse-flag-1 and cse-obs-1 sit on the end-reason extension slice, so they
// need not name the extension's URL: they hold for every end reason present.
Invariant: cse-flag-1
Description: "An end reason is given only when the marker has been ended (status inactive)."
Severity: #error
Expression: "%resource.status = 'inactive'"

Invariant: cse-flag-2
Description: "An ended marker (status inactive) has an end date (period.end)."
Severity: #error
Expression: "status = 'inactive' implies period.end.exists()"

Invariant: cse-flag-3
Description: "An active marker has no end date."
Severity: #error
Expression: "status = 'active' implies period.end.empty()"

Invariant: cse-flag-4
Description: "An ended marker should say why it was ended (cse-end-reason extension)."
Severity: #warning
Expression: "status = 'inactive' implies extension.where(url.endsWith('/StructureDefinition/cse-end-reason')).exists()"

Invariant: cse-obs-1
Description: "An end reason is given only when the marker has been ended (effectivePeriod.end present)."
Severity: #error
Expression: "%resource.effective.ofType(Period).end.exists()"

Invariant: cse-obs-2
Description: "An ended marker (effectivePeriod.end present) should say why it was ended (cse-end-reason extension)."
Severity: #warning
Expression: "effective.ofType(Period).end.exists() implies extension.where(url.endsWith('/StructureDefinition/cse-end-reason')).exists()"

Invariant: cse-period-1
Description: "The end of the marker period is not before its start."
Severity: #error
Expression: "(start.exists() and end.exists()) implies end >= start"
