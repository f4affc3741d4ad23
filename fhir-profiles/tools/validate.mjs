#!/usr/bin/env node
// Validates FHIR R4 JSON against R4 core and the CSE marker profiles, offline.
//
//   node validate.mjs [--profile URL]... [--defs DIR] [--no-implied] [--verbose] FILE...
//
// FILE is a resource, a Bundle (every entry is validated too), or with the
// extension .ndjson one resource per line; "-" reads standard input. One
// process validates any number of files.
//
// For each file prints either
//   FILE: OK
// or one line per problem
//   FILE: ERROR <path>: <message>
// (FILE:LINE: for NDJSON), with warnings as FILE: WARNING lines under
// --verbose. Exit status: 0 when every file passed, 1 when any failed,
// 2 on a usage error or a file that cannot be read (the other files are
// still validated).
//
// Which profiles apply to a resource: every profile in --defs (default: the
// json/ folder beside this tool) that its meta.profile names; every --profile
// URL whose type matches; and, unless --no-implied, every profile of ours
// whose `code` has a required binding to a ValueSet containing one of the
// resource's codings (a Flag or Observation coded as a CSE marker must be a
// conformant CSE risk marker).
import fs from 'node:fs';
import path from 'node:path';
import { MissingPackagesError, profilesDir } from './lib/modules.mjs';

const USAGE = `usage: node validate.mjs [--profile URL]... [--defs DIR] [--no-implied] [--verbose] FILE...
  --profile URL   also validate every resource of the profile's type against URL
  --defs DIR      folder of our conformance resources (default: ${path.join(profilesDir, 'json')})
  --no-implied    do not apply profiles implied by a resource's code
  --verbose       also print warnings
  --list-profiles print the profiles known from --defs and exit
Prints "FILE: OK" or "FILE: ERROR <path>: <message>" lines.
Exit status: 0 all valid, 1 some invalid, 2 usage or I/O error.`;

function usageError(msg) {
  process.stderr.write(`validate.mjs: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { profiles: [], defsDir: path.join(profilesDir, 'json'), implied: true, verbose: false, files: [], list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      opts.files.push(...argv.slice(i + 1));
      break;
    } else if (a === '--profile') {
      if (i + 1 >= argv.length) usageError('--profile needs a URL');
      opts.profiles.push(argv[++i]);
    } else if (a.startsWith('--profile=')) {
      opts.profiles.push(a.slice('--profile='.length));
    } else if (a === '--defs') {
      if (i + 1 >= argv.length) usageError('--defs needs a folder');
      opts.defsDir = argv[++i];
    } else if (a === '--no-implied') {
      opts.implied = false;
    } else if (a === '--verbose' || a === '-v') {
      opts.verbose = true;
    } else if (a === '--list-profiles') {
      opts.list = true;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else if (a.startsWith('-') && a !== '-') {
      usageError(`unknown option ${a}`);
    } else {
      opts.files.push(a);
    }
  }
  return opts;
}

// Resources in a file: [{ resource, line }] or a parse error.
function readResources(file, text) {
  if (file.endsWith('.ndjson')) {
    const out = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        out.push({ resource: JSON.parse(line), line: i + 1 });
      } catch (e) {
        out.push({ error: `invalid JSON: ${e.message}`, line: i + 1 });
      }
    });
    if (out.length === 0) out.push({ error: 'no resources in NDJSON file' });
    return out;
  }
  try {
    return [{ resource: JSON.parse(text) }];
  } catch (e) {
    return [{ error: `invalid JSON: ${e.message}` }];
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!opts.list && opts.files.length === 0) usageError('no FILE given');
  if (!fs.existsSync(opts.defsDir) || !fs.statSync(opts.defsDir).isDirectory()) {
    usageError(`--defs ${opts.defsDir} is not a folder`);
  }

  const { Validator } = await import('./lib/validator.mjs');
  const validator = new Validator({ defsDir: opts.defsDir });

  if (opts.list) {
    for (const url of validator.profileUrls()) process.stdout.write(url + '\n');
    return 0;
  }
  for (const url of opts.profiles) {
    const sd = validator.defs.sd(url);
    if (!sd || sd.resourceType !== 'StructureDefinition' || !sd.snapshot) {
      usageError(`--profile ${url}: no such StructureDefinition (with a snapshot) in ${opts.defsDir} or R4 core`);
    }
  }

  let failed = false;
  let ioError = false;
  const out = [];
  const flush = () => {
    if (out.length) process.stdout.write(out.join(''));
    out.length = 0;
  };
  for (const file of opts.files) {
    let text;
    try {
      text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
    } catch (e) {
      process.stderr.write(`validate.mjs: cannot read ${file}: ${e.message}\n`);
      out.push(`${file}: ERROR $: cannot read file: ${e.code || e.message}\n`);
      ioError = true;
      continue;
    }
    const name = file === '-' ? '<stdin>' : file;
    let fileErrors = 0;
    for (const entry of readResources(file, text)) {
      const label = entry.line ? `${name}:${entry.line}` : name;
      let issues;
      if (entry.error) {
        issues = [{ severity: 'error', path: '$', message: entry.error }];
      } else {
        try {
          issues = validator.validate(entry.resource, { profiles: opts.profiles, implied: opts.implied });
        } catch (e) {
          // Never let one odd input stop the other files.
          issues = [{ severity: 'error', path: '$', message: `validator failed on this input: ${e && e.message}` }];
        }
      }
      for (const i of issues) {
        if (i.severity === 'error') {
          fileErrors++;
          out.push(`${label}: ERROR ${i.path}: ${oneLine(i.message)}\n`);
        } else if (opts.verbose) {
          out.push(`${label}: WARNING ${i.path}: ${oneLine(i.message)}\n`);
        }
      }
    }
    if (fileErrors === 0) out.push(`${name}: OK\n`);
    else failed = true;
    if (out.length > 256) flush();
  }
  flush();
  return ioError ? 2 : failed ? 1 : 0;
}

function oneLine(s) {
  return String(s).replace(/\s*\n\s*/g, ' ');
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    if (e instanceof MissingPackagesError) {
      process.stderr.write(`validate.mjs: ${e.message}\n`);
    } else {
      process.stderr.write(`validate.mjs: ${e && e.stack ? e.stack : e}\n`);
    }
    process.exitCode = 2;
  }
);
