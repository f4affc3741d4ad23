// External code systems, identifier systems and definitions used by the
// CSE marker definitions.  Our own artefacts are referred to by FSH name,
// so their URLs all derive from `canonical` in sushi-config.yaml.
Alias: $sct = http://snomed.info/sct
Alias: $v3-ActCode = http://terminology.hl7.org/CodeSystem/v3-ActCode
Alias: $flag-category = http://terminology.hl7.org/CodeSystem/flag-category
Alias: $observation-status = http://hl7.org/fhir/observation-status
Alias: $measure-scoring = http://terminology.hl7.org/CodeSystem/measure-scoring
Alias: $measure-population = http://terminology.hl7.org/CodeSystem/measure-population
Alias: $data-absent-reason = http://terminology.hl7.org/CodeSystem/data-absent-reason
Alias: $dar-ext = http://hl7.org/fhir/StructureDefinition/data-absent-reason
Alias: $flag-detail = http://hl7.org/fhir/StructureDefinition/flag-detail
Alias: $nhs-number = https://fhir.nhs.uk/Id/nhs-number
Alias: $ods = https://fhir.nhs.uk/Id/ods-organization-code
Alias: $sds-user = https://fhir.nhs.uk/Id/sds-user-id
