// Metadata common to every definition. Inserted into each profile,
// extension, CodeSystem and ValueSet.
RuleSet: Metadata
* ^publisher = "csemarker project"
* ^jurisdiction = urn:iso:std:iso:3166#GB "United Kingdom of Great Britain and Northern Ireland"
* ^experimental = false
