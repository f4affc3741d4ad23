// Enumerates ValueSets so that required bindings can be checked offline.
//
// A ValueSet is expanded from its compose: explicit concepts, whole
// CodeSystems that we have with content "complete", is-a / descendent-of
// filters over such a CodeSystem's concept hierarchy, and included
// ValueSets. Anything else (SNOMED CT or LOINC filters, external systems
// such as BCP-47 languages or MIME types) cannot be enumerated here; such a
// ValueSet is "incomplete" and a binding to it is reported as unchecked, not
// as an error.
import { stripVersion } from './definitions.mjs';

// Code systems that are defined outside FHIR and never enumerable here;
// looking them up would only load every terminology bundle in vain.
const EXTERNAL_SYSTEMS = new Set([
  'http://snomed.info/sct',
  'http://loinc.org',
  'http://unitsofmeasure.org',
  'urn:ietf:bcp:13',
  'urn:ietf:bcp:47',
  'urn:iso:std:iso:3166',
  'urn:iso:std:iso:4217',
  'http://www.nlm.nih.gov/research/umls/rxnorm',
  'http://hl7.org/fhir/sid/icd-10',
  'http://hl7.org/fhir/sid/icd-10-cm',
  'http://hl7.org/fhir/sid/ndc',
  'http://hl7.org/fhir/sid/cvx',
  'http://www.ama-assn.org/go/cpt',
]);

export class Terminology {
  constructor(defs) {
    this.defs = defs;
    this.cache = new Map();
  }

  // Returns { codes: Map<system, Set<code>>, complete: boolean, reason?: string }.
  expand(vsUrl, seen = new Set()) {
    vsUrl = stripVersion(vsUrl);
    if (this.cache.has(vsUrl)) return this.cache.get(vsUrl);
    if (seen.has(vsUrl)) return { codes: new Map(), complete: false, reason: `ValueSet ${vsUrl} includes itself` };
    seen.add(vsUrl);
    const result = this.expandUncached(vsUrl, seen);
    this.cache.set(vsUrl, result);
    return result;
  }

  expandUncached(vsUrl, seen) {
    const vs = this.defs.valueSet(vsUrl);
    const codes = new Map();
    if (!vs) return { codes, complete: false, reason: `ValueSet ${vsUrl} is not known` };
    const add = (system, code) => {
      if (!codes.has(system)) codes.set(system, new Set());
      codes.get(system).add(code);
    };
    if (!vs.compose) {
      if (vs.expansion && Array.isArray(vs.expansion.contains)) {
        const walk = (list) => {
          for (const c of list || []) {
            if (c.code && !c.abstract) add(c.system, c.code);
            walk(c.contains);
          }
        };
        walk(vs.expansion.contains);
        // A paged expansion (total larger than what is listed) is partial.
        const listed = [...codes.values()].reduce((n, set) => n + set.size, 0);
        const partial = typeof vs.expansion.total === 'number' && vs.expansion.total > listed;
        return { codes, complete: !partial, reason: partial ? `ValueSet ${vsUrl} has a partial expansion` : undefined };
      }
      return { codes, complete: false, reason: `ValueSet ${vsUrl} has no compose` };
    }
    let complete = true;
    let reason;
    const incomplete = (why) => {
      complete = false;
      reason = reason || why;
    };
    for (const inc of vs.compose.include || []) {
      const part = this.expandInclude(inc, seen);
      if (!part.complete) incomplete(part.reason);
      for (const [system, set] of part.codes) for (const c of set) add(system, c);
    }
    for (const exc of vs.compose.exclude || []) {
      const part = this.expandInclude(exc, seen);
      if (!part.complete) incomplete(part.reason);
      for (const [system, set] of part.codes) for (const c of set) codes.get(system)?.delete(c);
    }
    return { codes, complete, reason };
  }

  expandInclude(inc, seen) {
    const codes = new Map();
    let complete = true;
    let reason;
    const sets = [];
    if (inc.system) {
      const system = inc.system;
      const own = new Set();
      if (Array.isArray(inc.concept) && inc.concept.length > 0) {
        for (const c of inc.concept) own.add(c.code);
      } else {
        const cs = EXTERNAL_SYSTEMS.has(system) ? undefined : this.defs.codeSystem(system);
        if (!cs || cs.content !== 'complete' || !Array.isArray(cs.concept)) {
          complete = false;
          reason = `CodeSystem ${system} cannot be enumerated offline`;
        } else if (Array.isArray(inc.filter) && inc.filter.length > 0) {
          const filtered = this.applyFilters(cs, inc.filter);
          if (!filtered) {
            complete = false;
            reason = `filter on ${system} cannot be evaluated offline`;
          } else {
            for (const c of filtered) own.add(c);
          }
        } else {
          const walk = (list) => {
            for (const c of list || []) {
              own.add(c.code);
              walk(c.concept);
            }
          };
          walk(cs.concept);
        }
      }
      sets.push(new Map([[system, own]]));
    }
    for (const vsUrl of inc.valueSet || []) {
      const sub = this.expand(vsUrl, new Set(seen));
      if (!sub.complete) {
        complete = false;
        reason = reason || sub.reason;
      }
      sets.push(sub.codes);
    }
    // Several sets in one include intersect (system AND valueSet).
    if (sets.length > 0) {
      const [first, ...rest] = sets;
      for (const [system, set] of first) {
        for (const c of set) {
          if (rest.every((m) => m.get(system)?.has(c))) {
            if (!codes.has(system)) codes.set(system, new Set());
            codes.get(system).add(c);
          }
        }
      }
    }
    return { codes, complete, reason };
  }

  // is-a, descendent-of and = on the concept hierarchy of a complete CodeSystem.
  applyFilters(cs, filters) {
    const parentOf = new Map();
    const all = [];
    const walk = (list, parent) => {
      for (const c of list || []) {
        all.push(c.code);
        if (parent) parentOf.set(c.code, parent);
        walk(c.concept, c.code);
      }
    };
    walk(cs.concept, undefined);
    const ancestors = (code) => {
      const out = [];
      let p = parentOf.get(code);
      while (p) {
        out.push(p);
        p = parentOf.get(p);
      }
      return out;
    };
    let result = all;
    for (const f of filters) {
      if (f.property !== 'concept' && f.property !== 'code') return undefined;
      if (f.op === 'is-a') result = result.filter((c) => c === f.value || ancestors(c).includes(f.value));
      else if (f.op === 'descendent-of') result = result.filter((c) => ancestors(c).includes(f.value));
      else if (f.op === '=') result = result.filter((c) => c === f.value);
      else if (f.op === 'in') {
        const vals = String(f.value).split(',');
        result = result.filter((c) => vals.includes(c));
      } else return undefined;
    }
    return result;
  }

  // true / false, or undefined when the ValueSet cannot be enumerated.
  // system undefined means "any system" (a bare code element).
  contains(vsUrl, system, code) {
    const exp = this.expand(vsUrl);
    if (!exp.complete) return undefined;
    if (system === undefined) {
      for (const set of exp.codes.values()) if (set.has(code)) return true;
      return false;
    }
    return Boolean(exp.codes.get(system)?.has(code));
  }
}
