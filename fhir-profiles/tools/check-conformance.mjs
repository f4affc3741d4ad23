#!/usr/bin/env node
// Checks that a profile of ours honours every constraint of a parent
// profile that it claims to conform to without deriving from it.
//
//   node check-conformance.mjs PARENT.json PROFILE.json
//
// The CSE risk marker Flag is based on core Flag and conforms to UK Core
// Flag, which is not available offline as a package. UK Core Flag's
// differential (in ../shared/conformance/fhir/ukcore/) is compared with the
// snapshot of our profile: for every element the parent constrains, ours
// must be at least as strict (mustSupport, min, max, types, fixed/pattern
// values, binding strength and ValueSet). Both must constrain the same base
// type. Prints "PROFILE: conforms to PARENT" or one "ERROR" line per gap;
// exit 0 / 1, 2 on usage or I/O errors.
import fs from 'node:fs';

function read(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    process.stderr.write(`check-conformance.mjs: cannot read ${file}: ${e.message}\n`);
    process.exit(2);
  }
}

const [parentFile, profileFile] = process.argv.slice(2);
if (!parentFile || !profileFile || process.argv.length > 4) {
  process.stderr.write('usage: node check-conformance.mjs PARENT.json PROFILE.json\n');
  process.exit(2);
}
const parent = read(parentFile);
const profile = read(profileFile);
const errors = [];
const err = (m) => errors.push(m);

if (parent.type !== profile.type) err(`profile is on ${profile.type}, parent on ${parent.type}`);
const parentBase = parent.derivation === 'constraint' ? parent.baseDefinition : parent.url;
if (parentBase !== profile.baseDefinition) {
  err(`parent derives from ${parentBase}, profile from ${profile.baseDefinition}`);
}

const ours = new Map((profile.snapshot?.element || []).map((e) => [e.id, e]));
const card = (m) => (m === '*' || m === undefined ? Infinity : Number.parseInt(m, 10));
const elements = parent.differential?.element || parent.snapshot?.element || [];
for (const pe of elements) {
  const id = pe.id || pe.path;
  const oe = ours.get(id);
  if (!oe) {
    err(`${id}: constrained by the parent but absent from the profile's snapshot`);
    continue;
  }
  if (pe.mustSupport === true && oe.mustSupport !== true) err(`${id}: parent marks it mustSupport, profile does not`);
  if (typeof pe.min === 'number' && (oe.min ?? 0) < pe.min) err(`${id}: min ${oe.min} is looser than the parent's ${pe.min}`);
  if (pe.max !== undefined && card(oe.max) > card(pe.max)) err(`${id}: max ${oe.max} is looser than the parent's ${pe.max}`);
  if (pe.type) {
    const allowed = new Set(pe.type.map((t) => t.code));
    for (const t of oe.type || []) if (!allowed.has(t.code)) err(`${id}: type ${t.code} is not allowed by the parent`);
  }
  for (const key of Object.keys(pe)) {
    if (/^(fixed|pattern)[A-Z]/.test(key) && JSON.stringify(pe[key]) !== JSON.stringify(oe[key])) {
      err(`${id}: parent's ${key} is not repeated by the profile`);
    }
  }
  if (pe.binding) {
    const order = ['example', 'preferred', 'extensible', 'required'];
    const ob = oe.binding || {};
    if (order.indexOf(ob.strength) < order.indexOf(pe.binding.strength)) {
      err(`${id}: binding strength ${ob.strength} is weaker than the parent's ${pe.binding.strength}`);
    }
    if (pe.binding.strength === 'required' && ob.valueSet !== pe.binding.valueSet) {
      err(`${id}: required binding to ${pe.binding.valueSet} is not kept (profile binds ${ob.valueSet})`);
    }
  }
}

if (errors.length) {
  for (const m of errors) process.stdout.write(`${profileFile}: ERROR ${m}\n`);
  process.exit(1);
}
process.stdout.write(`${profileFile}: conforms to ${parent.url} (${elements.length} constrained elements checked)\n`);
