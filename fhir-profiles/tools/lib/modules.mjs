// Locates the npm packages this folder depends on.
//
// The packages live in CSE_NODE_MODULES when that is set (make check and
// make distcheck point it at the source tree's node_modules, because a dist
// tree has none), else in fhir-profiles/node_modules beside this script.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const toolsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const profilesDir = path.resolve(toolsDir, '..');
export const nodeModulesDir = path.resolve(
  process.env.CSE_NODE_MODULES || path.join(profilesDir, 'node_modules')
);

// createRequire() resolves bare names from the folder of the file it is given,
// so a (non-existent) file inside node_modules resolves packages from there.
const requireFromModules = createRequire(path.join(nodeModulesDir, '_resolve.cjs'));

export class MissingPackagesError extends Error {}

export function requirePackage(name) {
  try {
    return requireFromModules(name);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && !fs.existsSync(path.join(nodeModulesDir, name))) {
      throw new MissingPackagesError(
        `npm package ${name} not found in ${nodeModulesDir}: run npm ci --prefix fhir-profiles`
      );
    }
    throw e;
  }
}

// Path of a file inside an installed package, e.g. the R4 definitions.
export function packageFile(name, ...rel) {
  const dir = path.join(nodeModulesDir, ...name.split('/'));
  if (!fs.existsSync(path.join(dir, 'package.json'))) {
    throw new MissingPackagesError(
      `npm package ${name} not found in ${nodeModulesDir}: run npm ci --prefix fhir-profiles`
    );
  }
  return path.join(dir, ...rel);
}
