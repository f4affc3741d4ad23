// A FHIR Bulk Data Access v2 server with SMART Backend Services authorisation,
// for the tests of `cse-report fetch`. Node.js built-in modules only.
//
//   node server.mjs --data DIR --cert CERT.pem --key KEY.pem --log FILE
//                   --client ID=PUBLIC.pem[,KID] ... [--secrets FILE]
//                   [--polls N] [--fail MODE] ...
//
// Serves DIR/<group>/<Type>.ndjson as the export of Group/<group>. Listens on
// 127.0.0.1 at a free port and prints "PORT <n>" once ready. Every event goes
// to the log, one line each ("TOKEN issued ...", "KICKOFF ...", "STATUS ...",
// "DOWNLOAD ...", "DELETE ..."); every access token issued is appended to the
// secrets file so that tests can check that the client never prints one.
//
// Failure modes (--fail, repeatable):
//   expire-token     tokens live 2 seconds (the client must renew them)
//   revoke-token     a token stops working after its first status poll (401)
//   status-500       the status request fails: 500, OperationOutcome "processing"
//   transient-500    the first status request fails: 500, "transient"
//   429:N            the first N status requests get 429 with Retry-After
//   429-storm        every status request gets 429
//   truncate         downloads stop half way (Content-Length promises more)
//   truncate-close   downloads end half way through a line, length-less
//   count-mismatch   the manifest's counts are one too high
//   error-file       the manifest lists an error file with an "error" issue
//   warning-file     the manifest lists an error file with "information" only
//   no-access-token  requiresAccessToken false: downloads need no token
//   bad-manifest     the manifest lacks requiresAccessToken
//   unrequested-type the manifest lists a type that was not requested
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import zlib from 'node:zlib';
import { URL } from 'node:url';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function parseArgs(argv) {
    const o = { clients: [], fail: new Set(), polls: 2, count429: 0 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = argv[i + 1];
        switch (a) {
        case '--data': o.data = v; i++; break;
        case '--cert': o.cert = v; i++; break;
        case '--key': o.key = v; i++; break;
        case '--log': o.log = v; i++; break;
        case '--secrets': o.secrets = v; i++; break;
        case '--polls': o.polls = Number(v); i++; break;
        case '--client': o.clients.push(v); i++; break;
        case '--fail':
            if (/^429:\d+$/.test(v)) o.count429 = Number(v.slice(4));
            else o.fail.add(v);
            i++;
            break;
        default:
            process.stderr.write(`bulk-server: unknown option ${a}\n`);
            process.exit(2);
        }
    }
    for (const k of ['data', 'cert', 'key', 'log'])
        if (!o[k]) {
            process.stderr.write(`bulk-server: --${k} is required\n`);
            process.exit(2);
        }
    return o;
}

const opt = parseArgs(process.argv.slice(2));
const log = (line) => fs.appendFileSync(opt.log, line + '\n');

// RFC 7638 thumbprint of a public key, the default kid.
function thumbprint(key) {
    const jwk = key.export({ format: 'jwk' });
    const members = jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y }
        : { e: jwk.e, kty: 'RSA', n: jwk.n };
    return crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

// client id -> [{kid, key, alg}]
const clients = new Map();
for (const spec of opt.clients) {
    const [id, rest] = spec.split(/=(.*)/s);
    const [file, kid] = rest.split(',');
    const key = crypto.createPublicKey(fs.readFileSync(file));
    const alg = key.asymmetricKeyType === 'ec' ? 'ES384' : 'RS384';
    if (alg === 'ES384' && key.asymmetricKeyDetails.namedCurve !== 'secp384r1')
        throw new Error(`${file}: ES384 needs a P-384 key`);
    const keys = clients.get(id) || [];
    keys.push({ kid: kid || thumbprint(key), key, alg });
    clients.set(id, keys);
}

const tokens = new Map(); // token -> {client, scopes, exp, uses, revoked}
const jtis = new Map();   // jti -> exp
const jobs = new Map();   // id -> job
let origin = '';
let statusRequests = 0;

function send(res, status, body, headers = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
}

function outcome(res, status, code, diagnostics, headers = {}) {
    send(res, status, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code, diagnostics }],
    }, { 'Content-Type': 'application/fhir+json', ...headers });
}

function b64json(part) {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// SMART Backend Services token endpoint: verify the client assertion.
function token(req, res, body) {
    const reject = (status, error, reason) => {
        log(`TOKEN rejected ${reason}`);
        send(res, status, { error, error_description: reason },
            { 'Content-Type': 'application/json' });
    };
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
        return reject(400, 'invalid_request', 'content-type');
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials')
        return reject(400, 'unsupported_grant_type', 'grant_type');
    if (form.get('client_assertion_type') !== ASSERTION_TYPE)
        return reject(400, 'invalid_request', 'client_assertion_type');
    const jwt = form.get('client_assertion') || '';
    if (opt.secrets && jwt) fs.appendFileSync(opt.secrets, jwt + '\n');
    const parts = jwt.split('.');
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p)))
        return reject(400, 'invalid_request', 'assertion is not a compact JWS without padding');
    let header, claims;
    try {
        header = b64json(parts[0]);
        claims = b64json(parts[1]);
    } catch {
        return reject(400, 'invalid_request', 'assertion JSON');
    }
    if (header.typ !== undefined && header.typ !== 'JWT')
        return reject(401, 'invalid_client', 'typ');
    const keys = clients.get(claims.iss);
    if (!keys) return reject(401, 'invalid_client', 'unknown client');
    if (claims.sub !== claims.iss) return reject(401, 'invalid_client', 'sub != iss');
    const reg = keys.find((k) => k.kid === header.kid);
    if (!reg) return reject(401, 'invalid_client', 'unknown kid');
    if (header.alg !== reg.alg) return reject(401, 'invalid_client', `alg ${header.alg}`);
    const sig = Buffer.from(parts[2], 'base64url');
    if (reg.alg === 'ES384' && sig.length !== 96)
        return reject(401, 'invalid_client', `ES384 signature of ${sig.length} bytes`);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const ok = crypto.verify('sha384', signed,
        reg.alg === 'ES384' ? { key: reg.key, dsaEncoding: 'ieee-p1363' } : reg.key, sig);
    if (!ok) return reject(401, 'invalid_client', 'signature');
    const now = Math.floor(Date.now() / 1000);
    if (claims.aud !== `${origin}/auth/token`) return reject(401, 'invalid_client', 'aud');
    if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 300)
        return reject(401, 'invalid_client', 'exp');
    if (typeof claims.jti !== 'string' || claims.jti.length < 16)
        return reject(401, 'invalid_client', 'jti');
    for (const [j, exp] of jtis) if (exp < now) jtis.delete(j);
    if (jtis.has(claims.jti)) return reject(401, 'invalid_client', 'jti replayed');
    jtis.set(claims.jti, claims.exp);
    const scopes = (form.get('scope') || '').split(' ').filter(Boolean);
    if (scopes.length === 0 ||
        !scopes.every((s) => /^system\/(\*|[A-Z][A-Za-z]+)\.(read|rs|r|s)$/.test(s)))
        return reject(400, 'invalid_scope', 'scope');
    const life = opt.fail.has('expire-token') ? 2 : 300;
    const tok = crypto.randomBytes(32).toString('base64url');
    tokens.set(tok, { client: claims.iss, scopes, exp: now + life, uses: 0 });
    if (opt.secrets) fs.appendFileSync(opt.secrets, tok + '\n');
    log(`TOKEN issued client=${claims.iss} alg=${header.alg} kid=${header.kid} ` +
        `scope=${scopes.join(' ')} expires_in=${life}`);
    send(res, 200, { access_token: tok, token_type: 'bearer', expires_in: life,
        scope: scopes.join(' ') }, { 'Content-Type': 'application/json' });
}

// The bearer token of a request, or null after answering 401.
function authorise(req, res, what) {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
    const t = m && tokens.get(m[1]);
    const now = Math.floor(Date.now() / 1000);
    if (!t || t.revoked || t.exp <= now) {
        log(`UNAUTHORISED ${what} ${!m ? 'no token' : !t ? 'unknown token'
            : t.revoked ? 'revoked token' : 'expired token'}`);
        outcome(res, 401, 'login', 'token missing, unknown or expired',
            { 'WWW-Authenticate': 'Bearer' });
        return null;
    }
    t.uses++;
    return t;
}

function covers(scopes, type) {
    return scopes.some((s) => s.startsWith(`system/${type}.`) || s.startsWith('system/*.'));
}

function kickoff(req, res, url, group) {
    const t = authorise(req, res, 'kickoff');
    if (!t) return;
    if (req.headers.accept !== 'application/fhir+json')
        return outcome(res, 400, 'invalid', 'Accept must be application/fhir+json');
    if (req.headers.prefer !== 'respond-async')
        return outcome(res, 400, 'invalid', 'Prefer must be respond-async');
    const dir = path.join(opt.data, group);
    if (!/^[A-Za-z0-9.-]{1,64}$/.test(group) || !fs.existsSync(dir))
        return outcome(res, 404, 'not-found', 'no such group');
    const types = (url.searchParams.get('_type') || '').split(',').filter(Boolean);
    if (types.length === 0) return outcome(res, 400, 'invalid', '_type is required here');
    const denied = types.filter((ty) => !covers(t.scopes, ty));
    if (denied.length) return outcome(res, 403, 'forbidden', `scope lacks ${denied}`);
    const id = crypto.randomUUID();
    jobs.set(id, { id, group, types, polls: 0, request: url.href, token: t });
    log(`KICKOFF job=${id} group=${group} types=${types.join(',')}`);
    send(res, 202, '', { 'Content-Location': `${origin}/fhir/status/${id}` });
}

function lines(file) {
    if (!fs.existsSync(file)) return null;
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').length;
}

function manifest(job) {
    const out = [];
    for (const type of job.types) {
        const n = lines(path.join(opt.data, job.group, `${type}.ndjson`));
        if (n === null) continue;
        out.push({ type, url: `${origin}/files/${job.id}/${type}.ndjson`,
            count: n + (opt.fail.has('count-mismatch') ? 1 : 0) });
    }
    if (opt.fail.has('unrequested-type'))
        out.push({ type: 'Encounter', url: `${origin}/files/${job.id}/Encounter.ndjson` });
    const m = {
        transactionTime: new Date().toISOString(),
        request: job.request,
        requiresAccessToken: !opt.fail.has('no-access-token'),
        output: out,
        error: [],
    };
    if (opt.fail.has('error-file') || opt.fail.has('warning-file'))
        m.error.push({ type: 'OperationOutcome',
            url: `${origin}/files/${job.id}/OperationOutcome.ndjson` });
    if (opt.fail.has('bad-manifest')) delete m.requiresAccessToken;
    return m;
}

function status(req, res, id) {
    const t = authorise(req, res, 'status');
    if (!t) return;
    const job = jobs.get(id);
    if (!job) return outcome(res, 404, 'not-found', 'no such export');
    statusRequests++;
    job.polls++;
    if (opt.fail.has('revoke-token') && !t.revokedOnce) {
        // The token is withdrawn server-side after this request.
        t.revokedOnce = true;
        t.revoked = true;
    }
    const retryAfter = job.polls % 2
        ? '1' : new Date(Date.now() + 1000).toUTCString();
    if (opt.fail.has('429-storm') || statusRequests <= opt.count429) {
        log(`STATUS job=${id} 429`);
        return outcome(res, 429, 'throttled', 'slow down', { 'Retry-After': '1' });
    }
    if (opt.fail.has('transient-500') && !job.transientDone) {
        job.transientDone = true;
        log(`STATUS job=${id} 500 transient`);
        return outcome(res, 500, 'transient', 'try again', { 'Retry-After': '1' });
    }
    if (opt.fail.has('status-500') && job.polls > 1) {
        log(`STATUS job=${id} 500 processing`);
        // The diagnostics hold the kind of text a client must never repeat.
        return outcome(res, 500, 'processing', 'failed on patient 9990000018 Jane SECRETNAME');
    }
    if (job.polls <= opt.polls) {
        const pct = Math.floor(100 * job.polls / (opt.polls + 1));
        log(`STATUS job=${id} 202 retry-after=${/^\d+$/.test(retryAfter) ? 'seconds' : 'date'}`);
        return send(res, 202, '', { 'Retry-After': retryAfter,
            'X-Progress': `exporting ${pct}% \u00e9` });
    }
    log(`STATUS job=${id} 200`);
    send(res, 200, manifest(job), { 'Content-Type': 'application/json' });
}

function download(req, res, id, name) {
    const job = jobs.get(id);
    const noToken = opt.fail.has('no-access-token');
    if (noToken) {
        if (req.headers.authorization) {
            log(`LEAK authorization header sent to a file URL`);
            return outcome(res, 400, 'security', 'no token expected');
        }
    } else if (!authorise(req, res, 'download')) {
        return;
    }
    if (!job) return outcome(res, 404, 'not-found', 'no such export');
    let data;
    if (name === 'OperationOutcome.ndjson') {
        const severity = opt.fail.has('error-file') ? 'error' : 'information';
        data = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity,
            code: severity === 'error' ? 'processing' : 'informational',
            diagnostics: 'Patient/9990000018 SECRETNAME could not be exported' }] }) + '\n';
    } else {
        const file = path.join(opt.data, job.group, name);
        if (!/^[A-Z][A-Za-z]+\.ndjson$/.test(name) || !fs.existsSync(file))
            return outcome(res, 404, 'not-found', 'no such file');
        data = fs.readFileSync(file);
    }
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
    log(`DOWNLOAD job=${id} file=${name} auth=${req.headers.authorization ? 'yes' : 'no'} ` +
        `gzip=${gzip ? 'yes' : 'no'}`);
    if (opt.fail.has('truncate-close')) {
        // A length-less, close-delimited response cut in the middle of a line.
        const buf = Buffer.from(data);
        const cut = buf.subarray(0, Math.max(1, Math.floor(buf.length / 2)));
        req.socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/fhir+ndjson\r\n' +
            'Connection: close\r\n\r\n');
        req.socket.end(cut);
        return;
    }
    const body = gzip ? zlib.gzipSync(data) : Buffer.from(data);
    const headers = { 'Content-Type': 'application/fhir+ndjson',
        'Content-Length': body.length };
    if (gzip) headers['Content-Encoding'] = 'gzip';
    res.writeHead(200, headers);
    if (opt.fail.has('truncate')) {
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        setTimeout(() => req.socket.destroy(), 50);
        return;
    }
    res.end(body);
}

function remove(req, res, id) {
    if (!authorise(req, res, 'delete')) return;
    if (!jobs.has(id)) return outcome(res, 404, 'not-found', 'no such export');
    jobs.delete(id);
    log(`DELETE job=${id}`);
    send(res, 202, '');
}

function smartConfiguration(res) {
    send(res, 200, {
        token_endpoint: `${origin}/auth/token`,
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
        grant_types_supported: ['client_credentials'],
        scopes_supported: ['system/*.read', 'system/*.rs'],
        capabilities: ['client-confidential-asymmetric'],
    }, { 'Content-Type': 'application/json' });
}

const server = https.createServer({
    cert: fs.readFileSync(opt.cert),
    key: fs.readFileSync(opt.key),
}, (req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
        size += c.length;
        if (size > 65536) req.destroy();
        else chunks.push(c);
    });
    req.on('end', () => {
        const url = new URL(req.url, origin);
        const p = url.pathname;
        let m;
        try {
            if (req.method === 'GET' && p === '/fhir/.well-known/smart-configuration')
                return smartConfiguration(res);
            if (req.method === 'POST' && p === '/auth/token')
                return token(req, res, Buffer.concat(chunks).toString('utf8'));
            if (req.method === 'GET' && (m = /^\/fhir\/Group\/([^/]+)\/\$export$/.exec(p)))
                return kickoff(req, res, url, decodeURIComponent(m[1]));
            if ((m = /^\/fhir\/status\/([0-9a-f-]+)$/.exec(p))) {
                if (req.method === 'GET') return status(req, res, m[1]);
                if (req.method === 'DELETE') return remove(req, res, m[1]);
            }
            if (req.method === 'GET' && (m = /^\/files\/([0-9a-f-]+)\/([^/]+)$/.exec(p)))
                return download(req, res, m[1], m[2]);
            outcome(res, 404, 'not-found', 'no such endpoint');
        } catch (e) {
            log(`SERVER-ERROR ${e.stack}`);
            outcome(res, 500, 'exception', 'server error');
        }
    });
});
server.on('tlsClientError', (e) => log(`TLS-ERROR ${e.code || e.message}`));
server.listen(0, '127.0.0.1', () => {
    origin = `https://127.0.0.1:${server.address().port}`;
    log(`LISTEN ${origin}`);
    process.stdout.write(`PORT ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
