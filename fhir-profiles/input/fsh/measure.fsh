// The ICS CSE marker report (DESIGN.md section 7) as a FHIR Measure, and the
// shape of the summary MeasureReport that cse-report writes.

RuleSet: MeasureGroup(index, code, display, description, numerator, denominator)
* group[{index}].code = CSEMeasure#{code} "{display}"
* group[{index}].code.text = "{code}"
* group[{index}].description = "{description}"
* group[{index}].population[0].code = $measure-population#numerator "Numerator"
* group[{index}].population[0].description = "{numerator}"
* group[{index}].population[0].criteria.language = #text/plain
* group[{index}].population[0].criteria.expression = "{numerator}"
* group[{index}].population[1].code = $measure-population#denominator "Denominator"
* group[{index}].population[1].description = "{denominator}"
* group[{index}].population[1].criteria.language = #text/plain
* group[{index}].population[1].criteria.expression = "{denominator}"
* group[{index}].stratifier[0].code = CSEMeasure#practice "Practice"
* group[{index}].stratifier[0].code.text = "practice"
* group[{index}].stratifier[0].description = "One stratum per GP practice, identified by its ODS code (https://fhir.nhs.uk/Id/ods-organization-code)."
* group[{index}].stratifier[0].criteria.language = #text/plain
* group[{index}].stratifier[0].criteria.expression = "ODS code of the practice the patient is registered with"

Instance: cse-marker-measures
InstanceOf: Measure
Title: "CSE marker measures"
Description: "The six measures of the ICS CSE marker report, per practice and period."
Usage: #definition
* name = "CSEMarkerMeasures"
* title = "CSE marker measures"
* status = #draft
* experimental = false
* publisher = "csemarker project"
* jurisdiction = urn:iso:std:iso:3166#GB "United Kingdom of Great Britain and Northern Ireland"
* description = "Measures of how well GP practices in an Integrated Care System record child sexual exploitation (CSE) risk markers: coverage, NOPAT labelling, overdue reviews, standard coding, children possibly unflagged and markers surviving GP2GP transfer. One group per measure; every group is stratified by practice (ODS code). Counts are computed where the data is and only counts leave the practice."
* purpose = "Inquiry into child sexual exploitation in Telford and Wrekin (2022), recommendation 46: the ICS consults GP practices about data improvements so that systems can flag CSE concerns on a child's record."
* guidance = "Disclosure control is on by default: a count of 1 to 7 is redacted and every other count is rounded to the nearest 5; zero stays zero. Ratios are computed from the protected counts. A total (the group's counts) is computed from every practice's true counts, then protected like any cell, and names how many practices it covers (extension cse-practices-covered). In a MeasureReport a redacted count is absent and carries the data-absent-reason extension with code masked. Outputs never contain an NHS number, name, date of birth, address or free text from a record."
* scoring = $measure-scoring#proportion "Proportion"
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#Patient
* insert MeasureGroup(0, cse_marker_coverage, CSE marker coverage, Share of registered children who have an active CSE marker., Registered patients under 18 at the end of the interval with an active CSE marker, Registered patients under 18 at the end of the interval)
* insert MeasureGroup(1, cse_marker_nopat, CSE markers labelled NOPAT, Share of active CSE markers that carry the NOPAT security label., Active CSE markers carrying the NOPAT security label, Active CSE markers)
* insert MeasureGroup(2, cse_marker_review_overdue, CSE marker review overdue, Share of active CSE markers whose review date has passed., Active CSE markers whose review date is before the end of the interval, Active CSE markers)
* insert MeasureGroup(3, cse_marker_standard_code, CSE markers with a standard code, Share of active CSE markers coded with a SNOMED CT concept id from the CSE marker ValueSet., Active CSE markers coded with a concept id from ValueSet cse-marker-codes, Active CSE markers)
* insert MeasureGroup(4, cse_possibly_unflagged, Children possibly unflagged, Share of registered children who have a related safeguarding code but no CSE marker., Registered patients under 18 with a code from ValueSet related-safeguarding-codes and no CSE marker, Registered patients under 18 at the end of the interval)
* insert MeasureGroup(5, cse_marker_survived_transfer, CSE markers that survived GP2GP transfer, Share of children who arrived by GP2GP transfer with a CSE marker at the sending practice and still have it., Children who arrived by GP2GP transfer with a CSE marker at the sending practice and still have an active or ended marker, Children who arrived by GP2GP transfer with a CSE marker at the sending practice)

Invariant: cse-mr-1
Description: "A count is given, or it is absent because disclosure control redacted it (data-absent-reason masked)."
Severity: #error
Expression: "`count`.hasValue() or `count`.extension('http://hl7.org/fhir/StructureDefinition/data-absent-reason').value = 'masked'"

RuleSet: NumeratorDenominator(element)
* {element}.population 2..2 MS
* {element}.population ^slicing.discriminator.type = #pattern
* {element}.population ^slicing.discriminator.path = "code"
* {element}.population ^slicing.rules = #closed
* {element}.population ^slicing.description = "Exactly one numerator and one denominator."
* {element}.population contains numerator 1..1 MS and denominator 1..1 MS
* {element}.population[numerator].code 1..1
* {element}.population[numerator].code = $measure-population#numerator
* {element}.population[denominator].code 1..1
* {element}.population[denominator].code = $measure-population#denominator
* {element}.population obeys cse-mr-1

Profile: CSEMeasureReport
Parent: MeasureReport
Id: cse-measure-report
Title: "CSE marker ICS summary report"
Description: "A summary MeasureReport of the CSE marker measures for one period: one group per measure, each stratified by practice (ODS code). Redacted counts are absent with data-absent-reason masked."
* insert Metadata
* status MS
* type = #summary
* measure 1..1 MS
* measure = Canonical(cse-marker-measures)
* period MS
* reporter MS
* reporter ^short = "The ICS (or other body) that merged the practice partials"
* group 1..* MS
* group.code 1..1 MS
* group.code from CSEMeasureVS (required)
* group.extension contains CSEPracticesCovered named practicesCovered 1..1 MS
* insert NumeratorDenominator(group)
* group.measureScore MS
* group.measureScore ^short = "numerator / denominator of the published (protected) counts; absent when the denominator is 0 or redacted"
* group.stratifier 1..1 MS
* group.stratifier.code 1..1 MS
* group.stratifier.code = CSEMeasure#practice
* group.stratifier.stratum MS
* group.stratifier.stratum.value 1..1 MS
* group.stratifier.stratum.value.coding 1..1
* group.stratifier.stratum.value.coding.system 1..1
* group.stratifier.stratum.value.coding.system = $ods
* group.stratifier.stratum.value.coding.code 1..1
* group.stratifier.stratum.value.coding.code ^short = "ODS code of the practice"
* insert NumeratorDenominator(group.stratifier.stratum)
* group.stratifier.stratum.component 0..0
