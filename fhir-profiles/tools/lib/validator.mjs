// FHIR R4 validation driven by StructureDefinition snapshots.
//
// Two passes run over every resource:
//
// 1. Base structure, by @medplum/core validateResource() against the R4 core
//    definitions: unknown elements, JSON and primitive formats, core
//    cardinalities and core invariants (FHIRPath).
//
// 2. This module's own walk of StructureDefinition snapshots, because
//    Medplum checks no ValueSet bindings at all, does not validate the
//    inside of slices or extensions against their definitions, and cannot
//    match extension slices by URL. For the core definition of the resource
//    it checks required bindings, allowed choice types, reference target
//    types and known extensions. For each profile the resource claims (or is
//    made to claim, see impliedProfiles) it checks everything the profile
//    says: cardinalities (min/max) that differ from core, slices and their
//    cardinalities (discriminators value, pattern, type, profile, exists),
//    fixed[x] and pattern[x] values, required bindings, allowed types and
//    type profiles (extensions are validated against their own
//    definitions), reference targets and the profile's own invariants
//    (FHIRPath, evaluated with @medplum/core).
//
// Every problem is reported as { severity, path, message }.
import { CORE_SD_PREFIX, Definitions, stripVersion } from './definitions.mjs';
import { Terminology } from './terminology.mjs';
import { requirePackage } from './modules.mjs';

const PRIMITIVES = new Set([
  'boolean',
  'integer',
  'string',
  'decimal',
  'uri',
  'url',
  'canonical',
  'base64Binary',
  'instant',
  'date',
  'dateTime',
  'time',
  'code',
  'oid',
  'id',
  'markdown',
  'unsignedInt',
  'positiveInt',
  'uuid',
  'xhtml',
]);

// Medplum skips these core invariants too (they need functions it lacks).
const SKIPPED_CONSTRAINTS = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

const isPrimitiveType = (code) => PRIMITIVES.has(code) || (code && code.startsWith('http://hl7.org/fhirpath/System.'));
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const arrayify = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);

function typeCodeOf(t) {
  // Primitive .value elements carry their type in an extension.
  const ext = (t.extension || []).find(
    (e) => e.url === 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type'
  );
  return ext ? ext.valueUrl || ext.valueUri : t.code;
}

function getFixedOrPattern(ed) {
  for (const key of Object.keys(ed)) {
    if (key.startsWith('fixed') && key.length > 5) return { kind: 'fixed', value: ed[key], key };
    if (key.startsWith('pattern') && key.length > 7) return { kind: 'pattern', value: ed[key], key };
  }
  return undefined;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

// FHIR pattern semantics: every element of the pattern is present in the value.
function matchesPattern(value, pattern) {
  if (Array.isArray(pattern)) {
    const vals = arrayify(value);
    return pattern.every((p) => vals.some((v) => matchesPattern(v, p)));
  }
  if (isObject(pattern)) {
    if (!isObject(value)) return false;
    return Object.keys(pattern).every((k) => matchesPattern(value[k], pattern[k]));
  }
  return value === pattern;
}

function describeValue(v) {
  if (isObject(v) && v.system !== undefined && v.code !== undefined) return `${v.system}#${v.code}`;
  if (isObject(v) && Array.isArray(v.coding) && v.coding.length === 1) return describeValue(v.coding[0]);
  if (isObject(v) || Array.isArray(v)) return JSON.stringify(v);
  return String(v);
}

// --- StructureDefinition snapshots as trees ------------------------------------

class ElementNode {
  constructor(ed) {
    this.ed = ed;
    this.id = ed.id || ed.path;
    this.children = [];
    this.slices = [];
    this.sliceOf = undefined;
    const segs = this.id.split('.');
    const last = segs[segs.length - 1];
    const colon = last.indexOf(':');
    this.name = colon >= 0 ? last.slice(0, colon) : last;
    this.sliceName = colon >= 0 ? last.slice(colon + 1) : undefined;
    this.parentId = segs.slice(0, -1).join('.');
    this.isChoice = this.name.endsWith('[x]');
    this.types = (ed.type || []).map((t) => ({
      code: typeCodeOf(t),
      profile: t.profile || [],
      targetProfile: t.targetProfile || [],
    }));
  }
  get min() {
    return typeof this.ed.min === 'number' ? this.ed.min : 0;
  }
  get max() {
    return this.ed.max === undefined || this.ed.max === '*' ? Infinity : Number.parseInt(this.ed.max, 10);
  }
  get baseMax() {
    const m = this.ed.base && this.ed.base.max;
    if (m === undefined) return this.max;
    return m === '*' ? Infinity : Number.parseInt(m, 10);
  }
  get baseMin() {
    return this.ed.base && typeof this.ed.base.min === 'number' ? this.ed.base.min : this.min;
  }
}

function buildTree(sd) {
  const elements = (sd.snapshot && sd.snapshot.element) || [];
  if (elements.length === 0) throw new Error(`StructureDefinition ${sd.url} has no snapshot`);
  const byId = new Map();
  const root = new ElementNode(elements[0]);
  byId.set(root.id, root);
  for (const ed of elements.slice(1)) {
    const node = new ElementNode(ed);
    byId.set(node.id, node);
    if (node.sliceName !== undefined) {
      // A reslice (a/b) belongs to slice a; a slice belongs to the unsliced element.
      const slash = node.sliceName.lastIndexOf('/');
      const baseId =
        slash >= 0
          ? `${node.parentId}.${node.name}:${node.sliceName.slice(0, slash)}`
          : `${node.parentId}.${node.name}`;
      const base = byId.get(baseId);
      if (base) {
        node.sliceOf = base;
        base.slices.push(node);
      }
    } else {
      const parent = byId.get(node.parentId);
      if (parent) parent.children.push(node);
    }
  }
  // contentReference (#Questionnaire.item) reuses another element's children.
  for (const node of byId.values()) {
    if (node.children.length === 0 && node.ed.contentReference) {
      const ref = byId.get(node.ed.contentReference.slice(node.ed.contentReference.indexOf('#') + 1));
      if (ref) node.contentRef = ref;
    }
  }
  return { root, byId, sd };
}

// --- the validator -----------------------------------------------------------

export class Validator {
  // options.defsDir: folder of our conformance resources (json/).
  constructor({ defsDir, extraDefs = [] } = {}) {
    this.medplum = requirePackage('@medplum/core');
    this.defs = new Definitions();
    // Core types and resources are always needed: index them for Medplum too.
    const types = this.defs.loadCore('types');
    const resources = this.defs.loadCore('resources');
    this.medplum.indexStructureDefinitionBundle(types.filter((r) => r.resourceType === 'StructureDefinition'));
    this.medplum.indexStructureDefinitionBundle(
      resources.filter((r) => r.resourceType === 'StructureDefinition')
    );
    if (defsDir) this.defs.loadDir(defsDir);
    for (const r of extraDefs) this.defs.add(r, { local: true });
    this.tx = new Terminology(this.defs);
    this.trees = new Map();
    this.implied = this.computeImpliedProfiles();
    this.fhirPathCache = new Map();
  }

  tree(sd) {
    let t = this.trees.get(sd.url);
    if (!t) {
      t = buildTree(sd);
      this.trees.set(sd.url, t);
    }
    return t;
  }

  // A profile of ours whose `code` has a required binding claims every
  // resource of its type whose code has a coding in that ValueSet: a Flag
  // coded with a CSE marker concept IS a CSE risk marker, whatever its
  // meta.profile says.
  computeImpliedProfiles() {
    const out = [];
    for (const sd of this.defs.localProfiles()) {
      const ed = (sd.snapshot?.element || []).find((e) => e.id === `${sd.type}.code`);
      if (ed && ed.binding && ed.binding.strength === 'required' && ed.binding.valueSet) {
        out.push({ type: sd.type, profile: sd.url, valueSet: stripVersion(ed.binding.valueSet) });
      }
    }
    return out;
  }

  profileUrls() {
    return this.defs.localProfiles().map((sd) => sd.url);
  }

  // Validates one resource (which may be a Bundle). Returns a list of issues.
  // options.profiles: extra profile URLs that every resource of the right
  // type must conform to; options.implied (default true).
  validate(resource, options = {}) {
    const issues = [];
    const ctx = {
      issues,
      root: resource,
      forced: options.profiles || [],
      forcedUsed: new Set(), // shared by every copy of ctx
      implied: options.implied !== false,
      bundleIndex: indexBundle(resource),
    };
    if (!isObject(resource) || typeof resource.resourceType !== 'string') {
      issues.push({ severity: 'error', path: '$', message: 'not a FHIR resource (no resourceType)' });
      return issues;
    }
    if (!this.defs.typeSD(resource.resourceType)) {
      issues.push({ severity: 'error', path: resource.resourceType, message: `unknown resource type ${resource.resourceType}` });
      return issues;
    }
    this.medplumPass(resource, issues);
    this.validateResource(resource, resource.resourceType, ctx);
    for (const url of ctx.forced) {
      const sd = this.defs.sd(url);
      if (sd && !ctx.forcedUsed.has(url) && resource.resourceType !== 'Bundle') {
        issues.push({
          severity: 'error',
          path: resource.resourceType,
          message: `resource type ${resource.resourceType} cannot conform to profile ${url} (a profile on ${sd.type})`,
        });
      }
    }
    return dedupe(issues);
  }

  medplumPass(resource, issues) {
    const { validateResource, OperationOutcomeError } = this.medplum;
    let outcome;
    try {
      outcome = validateResource(resource);
    } catch (e) {
      if (e instanceof OperationOutcomeError || (e && e.outcome)) {
        outcome = e.outcome.issue || [];
      } else {
        issues.push({ severity: 'error', path: resource.resourceType, message: `base validation failed: ${e.message}` });
        return;
      }
    }
    for (const issue of outcome || []) {
      const text = (issue.details && issue.details.text) || '';
      // Medplum cannot resolve urn:uuid: or absolute references and only
      // warns; checkReference() does this properly.
      if (issue.severity === 'warning' && text.startsWith('Invalid reference:')) continue;
      const path = (issue.expression && issue.expression[0]) || resource.resourceType;
      const message = (issue.details && issue.details.text) || issue.diagnostics || issue.code;
      issues.push({ severity: issue.severity === 'error' || issue.severity === 'fatal' ? 'error' : 'warning', path, message });
    }
  }

  // The core definition plus every profile that applies to this resource.
  validateResource(resource, path, ctx) {
    const coreSD = this.defs.typeSD(resource.resourceType);
    if (!coreSD) {
      ctx.issues.push({ severity: 'error', path, message: `unknown resource type ${resource.resourceType}` });
      return;
    }
    const item = { value: resource, path, type: resource.resourceType };
    const rctx = { ...ctx, resource, mode: 'base', sd: coreSD };
    this.checkItem(item, this.tree(coreSD).root, rctx);

    const profiles = new Map();
    for (const url of arrayify(resource.meta && resource.meta.profile)) {
      if (typeof url !== 'string') continue;
      const sd = this.defs.sd(url);
      if (!sd) {
        ctx.issues.push({
          severity: 'warning',
          path: `${path}.meta.profile`,
          message: `profile ${url} is not known here; not checked`,
        });
      } else if (stripVersion(url) !== CORE_SD_PREFIX + resource.resourceType) {
        profiles.set(sd.url, 'claimed in meta.profile');
      }
    }
    if (ctx.implied) {
      for (const imp of this.implied) {
        if (imp.type !== resource.resourceType || profiles.has(imp.profile)) continue;
        const codings = arrayify(resource.code && resource.code.coding);
        if (codings.some((c) => isObject(c) && this.tx.contains(imp.valueSet, c.system, c.code) === true)) {
          profiles.set(imp.profile, `code is in ${imp.valueSet}`);
        }
      }
    }
    for (const url of ctx.forced) {
      const sd = this.defs.sd(url);
      if (sd && sd.type === resource.resourceType) {
        profiles.set(sd.url, 'required by --profile');
        ctx.forcedUsed.add(url);
      }
    }
    for (const [url, why] of profiles) {
      const sd = this.defs.sd(url);
      if (sd.type !== resource.resourceType) {
        ctx.issues.push({
          severity: 'error',
          path,
          message: `resource type ${resource.resourceType} cannot conform to profile ${url} (a profile on ${sd.type})`,
        });
        continue;
      }
      const pctx = { ...ctx, resource, mode: 'profile', sd, why };
      this.checkItem({ ...item }, this.tree(sd).root, pctx);
    }
  }

  report(ctx, severity, path, message) {
    const where = ctx.mode === 'profile' ? ` (profile ${ctx.sd.url})` : '';
    ctx.issues.push({ severity, path, message: message + where });
  }

  // Checks one value that belongs to element `node`, then its children.
  checkItem(item, node, ctx) {
    const ed = node.ed;
    const present = item.value !== undefined;

    if (present) {
      // fixed[x] / pattern[x]
      const fp = getFixedOrPattern(ed);
      if (fp && ctx.mode === 'profile') {
        const ok = fp.kind === 'fixed' ? deepEqual(item.value, fp.value) : matchesPattern(item.value, fp.value);
        if (!ok) {
          this.report(
            ctx,
            'error',
            item.path,
            `value ${describeValue(item.value)} does not match the ${fp.kind} value ${describeValue(fp.value)}`
          );
        }
      }
      this.checkBinding(item, node, ctx);
      this.checkConstraints(item, node, ctx);
      this.checkReference(item, node, ctx);
    }

    // Embedded resources (Bundle.entry.resource, contained, Parameters...).
    if (present && isObject(item.value) && typeof item.value.resourceType === 'string' && node !== this.rootOf(ctx)) {
      if (node.types.some((t) => t.code === 'Resource' || t.code === 'DomainResource' || t.code === item.value.resourceType)) {
        if (ctx.mode === 'base') this.validateResource(item.value, item.path, ctx);
        return;
      }
    }

    // Type profiles (for example an extension slice typed with our extension).
    const typeEntry = node.types.find((t) => t.code === item.type) || (node.types.length === 1 ? node.types[0] : undefined);
    if (present && typeEntry && typeEntry.profile.length > 0 && !isPrimitiveType(item.type)) {
      this.checkTypeProfiles(item, typeEntry.profile, ctx);
    }
    // An extension whose definition we know is checked against it.
    if (
      present &&
      item.type === 'Extension' &&
      ctx.mode === 'base' &&
      isObject(item.value) &&
      typeof item.value.url === 'string' &&
      !(typeEntry && typeEntry.profile.length > 0)
    ) {
      const extSD = this.defs.sd(item.value.url);
      if (extSD && extSD.type === 'Extension' && extSD.snapshot) {
        this.checkTypeProfiles(item, [extSD.url], ctx);
      }
    }

    if (!present || isPrimitiveType(item.type) || !isObject(item.value)) return;

    let children = node.children.length > 0 ? node.children : node.contentRef ? node.contentRef.children : [];
    let childCtx = ctx;
    if (children.length === 0 && ctx.mode === 'base') {
      // Not unfolded here: walk the core definition of the datatype.
      const typeSD = this.defs.typeSD(item.type);
      if (typeSD && typeSD.kind !== 'resource' && typeSD.snapshot) {
        const t = this.tree(typeSD);
        children = t.root.children;
        childCtx = { ...ctx, sd: typeSD, typeRoot: t.root };
      }
    }
    for (const child of children) this.checkChild(item, child, childCtx);
  }

  rootOf(ctx) {
    return ctx.typeRoot || this.tree(ctx.sd).root;
  }

  // The values of `child` inside parent item, with cardinality and slicing.
  checkChild(parent, child, ctx) {
    const items = this.childItems(parent, child, ctx);
    const n = items.length;
    const card = { min: child.min, max: child.max };
    const sameAsBase = child.min === child.baseMin && child.max === child.baseMax;
    // Base cardinalities are Medplum's job; ours are checked here.
    if (ctx.mode === 'profile' && !sameAsBase) {
      const path = `${parent.path}.${child.name}`;
      if (n < card.min) {
        this.report(ctx, 'error', path, `minimum required = ${card.min}, but only found ${n}`);
      } else if (n > card.max) {
        this.report(ctx, 'error', path, `maximum allowed = ${card.max}, but found ${n}`);
      }
    }
    if (child.slices.length > 0 && child.ed.slicing) {
      this.checkSlices(parent, child, items, ctx);
    }
    for (const item of items) this.checkItem(item, child, ctx);
  }

  childItems(parent, child, ctx) {
    const obj = parent.value;
    const out = [];
    const push = (key, type) => {
      const vals = obj[key];
      const exts = obj['_' + key];
      const isArr = Array.isArray(vals) || Array.isArray(exts);
      const len = Math.max(arrayify(vals).length, arrayify(exts).length);
      for (let i = 0; i < len; i++) {
        const value = Array.isArray(vals) ? vals[i] : i === 0 ? vals : undefined;
        const ext = Array.isArray(exts) ? exts[i] : i === 0 ? exts : undefined;
        if (value === undefined && ext === undefined) continue;
        if (value === null && ext === undefined) continue;
        out.push({
          value: value === null ? undefined : value,
          ext,
          path: `${parent.path}.${key}${isArr ? `[${i}]` : ''}`,
          type: type || this.itemType(child, value),
          hasExtOnly: value === undefined || value === null,
        });
      }
    };
    if (child.isChoice) {
      const base = child.name.slice(0, -3);
      const allowed = new Map(child.types.map((t) => [capitalize(t.code), t.code]));
      const seen = new Set();
      for (const rawKey of Object.keys(obj)) {
        const key = rawKey.startsWith('_') ? rawKey.slice(1) : rawKey;
        if (seen.has(key) || !key.startsWith(base) || key.length === base.length) continue;
        const suffix = key.slice(base.length);
        if (!/^[A-Z]/.test(suffix)) continue;
        seen.add(key);
        if (allowed.has(suffix)) {
          push(key, allowed.get(suffix));
        } else if (this.isKnownTypeSuffix(suffix)) {
          const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
          const typeName = PRIMITIVES.has(lower) ? lower : suffix;
          this.report(
            ctx,
            'error',
            `${parent.path}.${key}`,
            `type ${typeName} is not allowed for ${child.name} (allowed: ${[...allowed.values()].join(', ')})`
          );
        }
      }
    } else {
      push(child.name);
    }
    return out;
  }

  isKnownTypeSuffix(suffix) {
    const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
    return PRIMITIVES.has(lower) || Boolean(this.defs.byType.StructureDefinition.get(CORE_SD_PREFIX + suffix));
  }

  itemType(node, value) {
    if (node.types.length === 0) return undefined;
    const code = node.types[0].code;
    if ((code === 'Resource' || code === 'DomainResource') && isObject(value) && value.resourceType) {
      return value.resourceType;
    }
    return code;
  }

  // --- slicing ---

  checkSlices(parent, base, items, ctx) {
    const slicing = base.ed.slicing;
    const discriminators = slicing.discriminator || [];
    const counts = new Map(base.slices.map((s) => [s, 0]));
    const assigned = new Map(base.slices.map((s) => [s, []]));
    for (const item of items) {
      let match;
      for (const slice of base.slices) {
        if (slice.sliceName.includes('/')) continue; // reslices are checked within their slice
        if (this.sliceMatches(item, slice, discriminators, ctx)) {
          match = slice;
          break;
        }
      }
      if (match) {
        counts.set(match, counts.get(match) + 1);
        assigned.get(match).push(item);
      } else if (slicing.rules === 'closed' && ctx.mode === 'profile') {
        this.report(ctx, 'error', item.path, `value ${describeValue(item.value)} matches no slice of ${base.name} and the slicing is closed`);
      }
    }
    const path = `${parent.path}.${base.name.replace('[x]', '')}`;
    for (const slice of base.slices) {
      if (slice.sliceName.includes('/')) continue;
      const n = counts.get(slice);
      if (ctx.mode === 'profile' || slice.min > 0 || Number.isFinite(slice.max)) {
        if (n < slice.min) {
          this.report(
            ctx,
            'error',
            path,
            `slice '${slice.sliceName}' requires at least ${slice.min} value(s)${this.describeSlice(slice)}, but found ${n}`
          );
        } else if (n > slice.max) {
          this.report(
            ctx,
            'error',
            path,
            `slice '${slice.sliceName}' allows at most ${slice.max} value(s)${this.describeSlice(slice)}, but found ${n}`
          );
        }
      }
      for (const item of assigned.get(slice)) this.checkItem(item, slice, ctx);
    }
  }

  describeSlice(slice) {
    const fp = getFixedOrPattern(slice.ed);
    if (fp) return ` matching ${describeValue(fp.value)}`;
    const prof = slice.types.find((t) => t.profile.length > 0);
    if (prof) return ` of ${prof.profile[0]}`;
    return '';
  }

  sliceMatches(item, slice, discriminators, ctx) {
    if (discriminators.length === 0) return false;
    for (const d of discriminators) {
      const dpath = d.path || '$this';
      if (d.type === 'value' || d.type === 'pattern') {
        const target = this.findSliceElement(slice, dpath);
        if (!target) return false;
        const vals = dpath === '$this' ? [item.value] : evalSimplePath(item.value, dpath);
        if (vals === undefined) return false;
        const fp = getFixedOrPattern(target.ed);
        if (fp) {
          const ok = vals.some((v) => (fp.kind === 'fixed' ? deepEqual(v, fp.value) : matchesPattern(v, fp.value)));
          if (!ok) return false;
        } else if (target.ed.binding && target.ed.binding.strength === 'required' && target.ed.binding.valueSet) {
          const ok = vals.some((v) => this.valueInValueSet(v, target.ed.binding.valueSet, item.type) === true);
          if (!ok) return false;
        } else {
          return false;
        }
      } else if (d.type === 'type') {
        if (dpath !== '$this') return false;
        if (!slice.types.some((t) => t.code === item.type)) return false;
      } else if (d.type === 'exists') {
        const vals = evalSimplePath(item.value, dpath);
        if (vals === undefined) return false;
        const target = this.findSliceElement(slice, dpath);
        const wantPresent = target ? target.min > 0 : true;
        if (vals.length > 0 !== wantPresent) return false;
      } else if (d.type === 'profile') {
        if (dpath !== '$this') return false;
        const profiles = slice.types.flatMap((t) => t.profile);
        if (!profiles.some((p) => this.conformsTo(item, p, ctx))) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  // The element at relative path inside a slice, looking into the slice's
  // type profile when the slice itself does not unfold that far (extension
  // slices get their fixed url from the extension's definition).
  findSliceElement(slice, relPath) {
    if (relPath === '$this') return slice;
    const steps = relPath.split('.');
    let node = slice;
    for (const step of steps) {
      const next = node && (node.children.find((c) => c.name === step) || node.children.find((c) => c.name === step + '[x]'));
      if (!next) {
        node = undefined;
        break;
      }
      node = next;
    }
    if (node) return node;
    const prof = slice.types.find((t) => t.profile.length > 0);
    if (prof) {
      const sd = this.defs.sd(prof.profile[0]);
      if (sd && sd.snapshot) {
        let n = this.tree(sd).root;
        for (const step of steps) {
          n = n && (n.children.find((c) => c.name === step) || n.children.find((c) => c.name === step + '[x]'));
        }
        return n;
      }
    }
    return undefined;
  }

  conformsTo(item, profileUrl, ctx) {
    const sd = this.defs.sd(profileUrl);
    if (!sd || !sd.snapshot) return false;
    const probe = { ...ctx, issues: [], mode: 'profile', sd };
    this.checkItem({ ...item }, this.tree(sd).root, probe);
    return !probe.issues.some((i) => i.severity === 'error');
  }

  checkTypeProfiles(item, profiles, ctx) {
    const known = profiles.map((p) => this.defs.sd(p)).filter((sd) => sd && sd.snapshot);
    if (known.length === 0) return;
    const attempts = known.map((sd) => {
      const probe = { ...ctx, issues: [], mode: 'profile', sd, typeRoot: undefined };
      this.checkItem({ ...item }, this.tree(sd).root, probe);
      return probe.issues;
    });
    const passing = attempts.find((issues) => !issues.some((i) => i.severity === 'error'));
    const chosen = passing || attempts[0];
    for (const issue of chosen) ctx.issues.push(issue);
  }

  // --- bindings ---

  checkBinding(item, node, ctx) {
    const b = node.ed.binding;
    if (!b || b.strength !== 'required' || !b.valueSet) return;
    if (item.value === undefined) return;
    // A profile binding that repeats the core one was checked by the core pass.
    if (ctx.mode === 'profile') {
      const core = this.coreElement(node.ed);
      const cb = core && core.ed.binding;
      if (cb && cb.strength === 'required' && stripVersion(cb.valueSet) === stripVersion(b.valueSet)) return;
    }
    const result = this.valueInValueSet(item.value, b.valueSet, item.type);
    if (result === false) {
      this.report(ctx, 'error', item.path, describeBindingFailure(item.value, stripVersion(b.valueSet)));
    } else if (result === undefined && ctx.mode === 'profile' && this.defs.local.some((r) => r.url === stripVersion(b.valueSet))) {
      // Our own ValueSets are always enumerable; anything else is silently unchecked.
      this.report(ctx, 'warning', item.path, `ValueSet ${b.valueSet} could not be checked`);
    }
  }

  // The core element a profile element constrains (by ElementDefinition.base.path).
  coreElement(ed) {
    const basePath = ed.base && ed.base.path;
    if (!basePath) return undefined;
    const sd = this.defs.typeSD(basePath.split('.')[0]);
    if (!sd || !sd.snapshot) return undefined;
    return this.tree(sd).byId.get(basePath);
  }

  // true / false / undefined (cannot tell) for a code, Coding,
  // CodeableConcept, Quantity or string value.
  valueInValueSet(value, vsUrl, type) {
    const exp = this.tx.expand(vsUrl);
    if (!exp.complete) return undefined;
    if (typeof value === 'string') return this.tx.contains(vsUrl, undefined, value);
    if (!isObject(value)) return undefined;
    if (type === 'CodeableConcept' || Array.isArray(value.coding) || (value.text !== undefined && value.code === undefined)) {
      const codings = arrayify(value.coding).filter(isObject);
      return codings.some((c) => c.code !== undefined && this.tx.contains(vsUrl, c.system, c.code));
    }
    if (value.code !== undefined) {
      if (value.system === undefined) return this.tx.contains(vsUrl, undefined, value.code);
      return this.tx.contains(vsUrl, value.system, value.code);
    }
    return undefined;
  }

  // --- invariants ---

  checkConstraints(item, node, ctx) {
    const constraints = node.ed.constraint;
    if (!constraints || ctx.mode !== 'profile') return;
    for (const c of constraints) {
      if (!c.expression || SKIPPED_CONSTRAINTS.has(c.key)) continue;
      // Core invariants are evaluated by the Medplum pass.
      if (c.source && c.source.startsWith(CORE_SD_PREFIX)) continue;
      if (!c.source && isCoreConstraintKey(c.key)) continue;
      let ok;
      try {
        ok = this.evalConstraint(c.expression, item, node, ctx);
      } catch (e) {
        this.report(ctx, 'error', item.path, `invariant ${c.key} could not be evaluated: ${e.message}`);
        continue;
      }
      if (!ok) {
        this.report(ctx, c.severity === 'warning' ? 'warning' : 'error', item.path, `invariant ${c.key} failed: ${c.human || c.expression}`);
      }
    }
  }

  evalConstraint(expression, item, node, ctx) {
    const { evalFhirPathTyped, toTypedValue } = this.medplum;
    let type = item.type || 'Element';
    if (type === 'BackboneElement' || type === 'Element') {
      // Medplum names backbone types after their path (MeasureReportGroupPopulation).
      const p = (node.ed.base && node.ed.base.path) || node.ed.path;
      type = p.split('.').map(capitalize).join('');
    }
    const typed = isObject(item.value) && item.value.resourceType ? toTypedValue(item.value) : { type, value: item.value };
    const vars = {
      '%context': typed,
      '%resource': toTypedValue(ctx.resource),
      '%rootResource': toTypedValue(ctx.root),
    };
    let ast = this.fhirPathCache.get(expression);
    if (!ast) {
      ast = this.medplum.parseFhirPath(expression);
      this.fhirPathCache.set(expression, ast);
    }
    const result = evalFhirPathTyped(ast, [typed], vars);
    return result.length === 1 && result[0].value === true;
  }

  // --- references ---

  checkReference(item, node, ctx) {
    if (item.type !== 'Reference' || !isObject(item.value)) return;
    const targets = (node.types.find((t) => t.code === 'Reference') || {}).targetProfile || [];
    if (targets.length === 0) return;
    const refType = this.referencedType(item.value, ctx);
    if (!refType) return;
    const ok = targets.some((tp) => {
      const url = stripVersion(tp);
      if (url === CORE_SD_PREFIX + 'Resource' || url === CORE_SD_PREFIX + 'DomainResource') return true;
      if (url === CORE_SD_PREFIX + refType) return true;
      const sd = this.defs.sd(url);
      return sd ? sd.type === refType : !url.startsWith(CORE_SD_PREFIX);
    });
    if (!ok) {
      this.report(
        ctx,
        'error',
        item.path,
        `reference to ${refType} is not allowed here (allowed: ${targets.map((t) => stripVersion(t).split('/').pop()).join(', ')})`
      );
    }
  }

  referencedType(ref, ctx) {
    if (typeof ref.type === 'string') return ref.type;
    const r = ref.reference;
    if (typeof r !== 'string' || r === '') return undefined;
    if (r.startsWith('#')) {
      const id = r.slice(1);
      const c = arrayify(ctx.resource && ctx.resource.contained).find((x) => isObject(x) && x.id === id);
      return c ? c.resourceType : undefined;
    }
    if (ctx.bundleIndex && ctx.bundleIndex.has(r)) return ctx.bundleIndex.get(r);
    if (r.startsWith('urn:')) return undefined;
    const m = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(r.split('?')[0]);
    if (m && this.defs.typeSD(m[1])) return m[1];
    const q = /^([A-Z][A-Za-z]+)\?/.exec(r);
    if (q && this.defs.typeSD(q[1])) return q[1];
    return undefined;
  }
}

function describeBindingFailure(value, vsUrl) {
  if (typeof value === 'string') return `code '${value}' is not in the required ValueSet ${vsUrl}`;
  if (isObject(value) && (Array.isArray(value.coding) || value.text !== undefined) && value.code === undefined) {
    const codes = arrayify(value.coding)
      .filter(isObject)
      .map((c) => `${c.system || '(no system)'}#${c.code}`);
    return codes.length
      ? `no coding is in the required ValueSet ${vsUrl} (found ${codes.join(', ')})`
      : `no coding is in the required ValueSet ${vsUrl} (the concept has no coding)`;
  }
  if (isObject(value) && value.code !== undefined) {
    return `code ${value.system || '(no system)'}#${value.code} is not in the required ValueSet ${vsUrl}`;
  }
  return `value ${describeValue(value)} is not in the required ValueSet ${vsUrl}`;
}

// Core invariant keys look like ele-1, ref-1, obs-6 (lower-case prefix, number).
function isCoreConstraintKey(key) {
  return /^[a-z]{2,6}-\d+$/.test(key || '') && !/^cse-/.test(key);
}

// Values at a dotted path (no functions), arrays flattened; undefined when
// the path uses FHIRPath functions this walker does not evaluate.
function evalSimplePath(value, path) {
  if (/[()]/.test(path)) return undefined;
  let cur = [value];
  for (const step of path.split('.')) {
    const next = [];
    for (const v of cur) {
      if (!isObject(v)) continue;
      for (const x of arrayify(v[step])) if (x !== undefined && x !== null) next.push(x);
    }
    cur = next;
  }
  return cur;
}

// fullUrl -> resourceType for the entries of a Bundle, so that references
// to urn:uuid: and absolute URLs inside the Bundle resolve.
function indexBundle(resource) {
  const map = new Map();
  if (!isObject(resource) || resource.resourceType !== 'Bundle') return map;
  for (const e of arrayify(resource.entry)) {
    if (!isObject(e) || !isObject(e.resource)) continue;
    const type = e.resource.resourceType;
    if (typeof e.fullUrl === 'string') map.set(e.fullUrl, type);
    if (e.resource.id) map.set(`${type}/${e.resource.id}`, type);
  }
  return map;
}

function dedupe(issues) {
  const seen = new Set();
  const out = [];
  for (const i of issues) {
    const key = `${i.severity}\u0000${i.path}\u0000${i.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(i);
  }
  return out;
}
