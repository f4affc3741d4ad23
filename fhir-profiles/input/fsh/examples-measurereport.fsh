// Example ICS summary report for one quarter and two practices. ODS codes
// are synthetic. Counts are already protected: multiples of 5 or 0, and
// counts of 1 to 7 are absent with data-absent-reason masked. Group totals
// are computed from every practice's true counts and then protected like any
// cell (so they include the practices whose cells are redacted), and say how
// many practices they cover; scores are computed from the published counts.
// The true counts behind it: A99001 9 of 1240 children flagged, 9 markers
// (all NOPAT and standard, none overdue), 15 possibly unflagged; A99002 5 of
// 985, 4 markers (all NOPAT and standard, 2 overdue), 10 possibly unflagged.

RuleSet: GroupCounts(g, num, den)
* group[{g}].extension[practicesCovered].valueInteger = 2
* group[{g}].population[numerator].code = $measure-population#numerator "Numerator"
* group[{g}].population[numerator].count = {num}
* group[{g}].population[denominator].code = $measure-population#denominator "Denominator"
* group[{g}].population[denominator].count = {den}

// A total whose numerator is redacted.
RuleSet: GroupMaskedNumerator(g, den)
* group[{g}].extension[practicesCovered].valueInteger = 2
* group[{g}].population[numerator].code = $measure-population#numerator "Numerator"
* group[{g}].population[numerator].count.extension[$dar-ext].valueCode = #masked
* group[{g}].population[denominator].code = $measure-population#denominator "Denominator"
* group[{g}].population[denominator].count = {den}

RuleSet: StratumCounts(g, s, ods, num, den)
* group[{g}].stratifier[0].stratum[{s}].value = $ods#{ods}
* group[{g}].stratifier[0].stratum[{s}].population[numerator].code = $measure-population#numerator "Numerator"
* group[{g}].stratifier[0].stratum[{s}].population[numerator].count = {num}
* group[{g}].stratifier[0].stratum[{s}].population[denominator].code = $measure-population#denominator "Denominator"
* group[{g}].stratifier[0].stratum[{s}].population[denominator].count = {den}

// Numerator redacted (a count of 1 to 7), denominator published.
RuleSet: StratumMaskedNumerator(g, s, ods, den)
* group[{g}].stratifier[0].stratum[{s}].value = $ods#{ods}
* group[{g}].stratifier[0].stratum[{s}].population[numerator].code = $measure-population#numerator "Numerator"
* group[{g}].stratifier[0].stratum[{s}].population[numerator].count.extension[$dar-ext].valueCode = #masked
* group[{g}].stratifier[0].stratum[{s}].population[denominator].code = $measure-population#denominator "Denominator"
* group[{g}].stratifier[0].stratum[{s}].population[denominator].count = {den}

// Both counts redacted.
RuleSet: StratumMasked(g, s, ods)
* group[{g}].stratifier[0].stratum[{s}].value = $ods#{ods}
* group[{g}].stratifier[0].stratum[{s}].population[numerator].code = $measure-population#numerator "Numerator"
* group[{g}].stratifier[0].stratum[{s}].population[numerator].count.extension[$dar-ext].valueCode = #masked
* group[{g}].stratifier[0].stratum[{s}].population[denominator].code = $measure-population#denominator "Denominator"
* group[{g}].stratifier[0].stratum[{s}].population[denominator].count.extension[$dar-ext].valueCode = #masked

RuleSet: Score(path, value)
* {path}.measureScore.value = {value}

RuleSet: PracticeStratifier(g)
* group[{g}].stratifier[0].code = CSEMeasure#practice "Practice"
* group[{g}].stratifier[0].code.text = "practice"

RuleSet: ReportGroup(g, code)
* group[{g}].code = CSEMeasure#{code}
* group[{g}].code.text = "{code}"
* insert PracticeStratifier({g})

Instance: cse-ics-summary-example
InstanceOf: CSEMeasureReport
Title: "Example ICS summary report"
Description: "The CSE marker measures for two practices over one quarter, after disclosure control."
Usage: #example
* status = #complete
* type = #summary
* measure = Canonical(cse-marker-measures)
* date = "2025-04-07T09:00:00Z"
* period.start = "2025-01-01"
* period.end = "2025-03-31"
* reporter.identifier.system = $ods
* reporter.identifier.value = "X99"
* reporter.display = "Example Integrated Care Board"
// cse_marker_coverage
* insert ReportGroup(0, cse_marker_coverage)
* insert GroupCounts(0, 15, 2225)
* insert Score(group[0], 0.0067)
* insert StratumCounts(0, 0, A99001, 10, 1240)
* insert Score(group[0].stratifier[0].stratum[0], 0.0081)
* insert StratumMaskedNumerator(0, 1, A99002, 985)
// cse_marker_nopat
* insert ReportGroup(1, cse_marker_nopat)
* insert GroupCounts(1, 15, 15)
* insert Score(group[1], 1)
* insert StratumCounts(1, 0, A99001, 10, 10)
* insert Score(group[1].stratifier[0].stratum[0], 1)
* insert StratumMasked(1, 1, A99002)
// cse_marker_review_overdue
* insert ReportGroup(2, cse_marker_review_overdue)
* insert GroupMaskedNumerator(2, 15)
* insert StratumCounts(2, 0, A99001, 0, 10)
* insert Score(group[2].stratifier[0].stratum[0], 0)
* insert StratumMasked(2, 1, A99002)
// cse_marker_standard_code
* insert ReportGroup(3, cse_marker_standard_code)
* insert GroupCounts(3, 15, 15)
* insert Score(group[3], 1)
* insert StratumCounts(3, 0, A99001, 10, 10)
* insert Score(group[3].stratifier[0].stratum[0], 1)
* insert StratumMasked(3, 1, A99002)
// cse_possibly_unflagged
* insert ReportGroup(4, cse_possibly_unflagged)
* insert GroupCounts(4, 25, 2225)
* insert Score(group[4], 0.0112)
* insert StratumCounts(4, 0, A99001, 15, 1240)
* insert Score(group[4].stratifier[0].stratum[0], 0.0121)
* insert StratumCounts(4, 1, A99002, 10, 985)
* insert Score(group[4].stratifier[0].stratum[1], 0.0102)
// cse_marker_survived_transfer: no published arrivals, so no score
* insert ReportGroup(5, cse_marker_survived_transfer)
* insert GroupCounts(5, 0, 0)
* insert StratumCounts(5, 0, A99001, 0, 0)
* insert StratumCounts(5, 1, A99002, 0, 0)
