#!/usr/bin/env node
// A Prisma query engine for prisma-client-py 0.15.0 (Prisma 5.17.0, engine
// commit 393aa359) on a machine that cannot download Prisma's native engines:
// LiteLLM with a database in litekeys' tests and benchmark. Point
// PRISMA_QUERY_ENGINE_BINARY here.
//
// prisma-client-py runs `engine --version`, then `engine -p PORT ...` with the
// schema in PRISMA_DML_PATH and the database URL in the environment variable
// the schema's datasource names (or OVERWRITE_DATASOURCES), polls GET /status
// and POSTs GraphQL to /. This program answers that HTTP side and runs the
// same engine compiled to wasm (npm @prisma/query-engine-wasm) over pg through
// @prisma/adapter-pg. The wasm engine speaks Prisma's JSON protocol, so each
// GraphQL document (the small subset prisma-client-py's query builder writes)
// is parsed and rewritten as a JSON-protocol request, and its answer is given
// back the way the GraphQL engine shapes it (`{"data": {"result": ...}}`,
// tagged values untagged). Json inputs are tagged from the schema; Postgres
// `name` columns (catalog queries) are read as text, which adapter-pg lacks.
//
// The npm pieces come from .tools/prisma-engine (scripts/install-peers;
// LITEKEYS_PRISMA_MODULES overrides). It never prints the database URL.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const COMMIT = '393aa359c9ad4a4bb28630fb5613f9c281cde053';

const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-V')) {
  console.log(`query-engine ${COMMIT}`);
  process.exit(0);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = process.env.LITEKEYS_PRISMA_MODULES || path.join(here, '../../.tools/prisma-engine');
const require = createRequire(path.join(modules, 'package.json'));

function fail(message) {
  process.stderr.write(`prisma-engine (litekeys): ${message}\n`);
  process.exit(1);
}

// ---- the schema: models, their Json and relation fields, the datasource ----

function readSchema(text) {
  const models = new Map();
  let current = null;
  let envName = 'DATABASE_URL';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const block = /^(model|enum|type|datasource|generator)\s+(\w+)\s*\{/.exec(line);
    if (block) {
      current = block[1] === 'model' ? { name: block[2], fields: new Map() } : null;
      if (current) models.set(current.name, current);
      continue;
    }
    const url = /^url\s*=\s*env\("([^"]+)"\)/.exec(line);
    if (url) envName = url[1];
    if (line === '}') current = null;
    if (!current || line.startsWith('@@')) continue;
    const field = /^(\w+)\s+(\w+)(\[\])?(\?)?/.exec(line);
    if (field) current.fields.set(field[1], { type: field[2], list: Boolean(field[3]) });
  }
  return { models, envName };
}

// ---- the GraphQL subset prisma-client-py's query builder writes ----
//   query|mutation { result: actionModel (key: value ...) { field sub(args) { ... } } }
// Values are JSON scalars, { key: value ... } objects and [a, b] lists.

function tokenize(src) {
  const tokens = [];
  const re = /\s+|,|([{}()[\]:])|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([A-Za-z_][\w]*)/gy;
  let m;
  while (re.lastIndex < src.length) {
    const at = re.lastIndex;
    if (!(m = re.exec(src))) throw new Error(`GraphQL: unexpected character at ${at}`);
    if (m[1]) tokens.push({ p: m[1] });
    else if (m[2]) tokens.push({ v: JSON.parse(m[2]) });
    else if (m[3]) tokens.push({ v: Number(m[3]) });
    else if (m[4]) tokens.push({ id: m[4] });
  }
  return tokens;
}

function parseDocument(src) {
  const t = tokenize(src);
  let i = 0;
  const peek = (p) => t[i] && t[i].p === p;
  const expect = (p) => {
    if (!peek(p)) throw new Error(`GraphQL: expected '${p}'`);
    i++;
  };
  const ident = () => {
    if (!t[i] || !t[i].id) throw new Error('GraphQL: expected a name');
    return t[i++].id;
  };
  const value = () => {
    if (peek('{')) {
      i++;
      const obj = {};
      while (!peek('}')) {
        const k = ident();
        expect(':');
        obj[k] = value();
      }
      i++;
      return obj;
    }
    if (peek('[')) {
      i++;
      const list = [];
      while (!peek(']')) list.push(value());
      i++;
      return list;
    }
    const tok = t[i++];
    if (tok && 'v' in tok) return tok.v;
    if (tok && tok.id === 'true') return true;
    if (tok && tok.id === 'false') return false;
    if (tok && tok.id === 'null') return null;
    if (tok && tok.id) return tok.id; // a bare enum value
    throw new Error('GraphQL: expected a value');
  };
  const argumentsOf = () => {
    const out = {};
    if (!peek('(')) return out;
    i++;
    while (!peek(')')) {
      const k = ident();
      expect(':');
      out[k] = value();
    }
    i++;
    return out;
  };
  const selectionOf = () => {
    const out = {};
    if (!peek('{')) return out;
    i++;
    while (!peek('}')) {
      const name = ident();
      const hasArgs = peek('(');
      const a = argumentsOf();
      if (peek('{') || hasArgs) {
        const nested = { selection: selectionOf() };
        if (hasArgs) nested.arguments = a;
        out[name] = nested;
      } else {
        out[name] = true;
      }
    }
    i++;
    return out;
  };
  ident(); // query | mutation
  expect('{');
  const alias = ident();
  let action = alias;
  if (peek(':')) {
    i++;
    action = ident();
  }
  const a = argumentsOf();
  const selection = selectionOf();
  expect('}');
  return { action, arguments: a, selection };
}

const ACTIONS = [
  'findUnique', 'findFirst', 'findMany', 'createOne', 'createMany', 'updateOne', 'updateMany',
  'upsertOne', 'deleteOne', 'deleteMany', 'aggregate', 'groupBy',
];

// `findUniqueLiteLLM_VerificationTokenOrThrow` -> model + JSON-protocol action.
function splitAction(name, schema) {
  if (name === 'queryRaw' || name === 'executeRaw') return { action: name };
  for (const prefix of ACTIONS) {
    if (!name.startsWith(prefix)) continue;
    let model = name.slice(prefix.length);
    let action = prefix;
    if (model.endsWith('OrThrow') && !schema.models.has(model)) {
      model = model.slice(0, -'OrThrow'.length);
      action += 'OrThrow';
    }
    if (schema.models.has(model)) return { modelName: model, action };
  }
  throw new Error(`unsupported operation ${name}`);
}

// Json values come from prisma-client-py as JSON text; the JSON protocol wants
// them tagged, else it stores a JSON string. Walks arguments with the model
// each level belongs to: a key naming a field of it is that field, any other
// key (where, data, create, AND, equals, ...) keeps the model.
const JSON_OPS = new Set(['equals', 'not', 'set']);

function tagJson(value, model, schema) {
  if (Array.isArray(value)) return value.map((v) => tagJson(v, model, schema));
  if (!value || typeof value !== 'object' || !model) return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    const field = model.fields.get(k);
    if (field && field.type === 'Json') out[k] = jsonValue(v, field);
    else if (field && schema.models.has(field.type)) out[k] = tagJson(v, schema.models.get(field.type), schema);
    else if (field) out[k] = v;
    else out[k] = tagJson(v, model, schema);
  }
  return out;
}

function jsonValue(v, field) {
  const tag = (s) => (typeof s === 'string' ? { $type: 'Json', value: s } : s === null ? { $type: 'Enum', value: 'DbNull' } : s);
  if (Array.isArray(v)) return field.list ? v.map(tag) : v;
  if (v && typeof v === 'object') {
    const out = {};
    for (const [op, x] of Object.entries(v)) out[op] = JSON_OPS.has(op) ? tag(x) : x;
    return out;
  }
  return tag(v);
}

export function toJsonProtocol(gql, schema) {
  const doc = parseDocument(gql);
  const { modelName, action } = splitAction(doc.action, schema);
  const model = modelName ? schema.models.get(modelName) : null;
  const request = { action, query: { arguments: tagJson(doc.arguments, model, schema), selection: doc.selection } };
  if (modelName) request.modelName = modelName;
  return request;
}

// The JSON protocol tags DateTime, Json, BigInt, Decimal and Bytes results;
// the GraphQL engine gave the bare values (Json as JSON text).
function untag(v) {
  if (Array.isArray(v)) return v.map(untag);
  if (!v || typeof v !== 'object') return v;
  if (typeof v.$type === 'string' && 'value' in v && Object.keys(v).length === 2) return v.value;
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = untag(x);
  return out;
}

function asGraphqlAnswer(answer) {
  if (answer.errors) return answer;
  if (answer.batchResult) return { batchResult: answer.batchResult.map(asGraphqlAnswer) };
  const data = answer.data || {};
  const key = Object.keys(data)[0];
  return { data: { result: key === undefined ? null : untag(data[key]) } };
}

// ---- Postgres through adapter-pg, `name` columns as text ----

const NAME = 19;
const NAME_ARRAY = 1003;
const TEXT = 25;
const TEXT_ARRAY = 1009;

function asText(result, parseArray) {
  for (const [col, field] of (result.fields || []).entries()) {
    if (field.dataTypeID === NAME) field.dataTypeID = TEXT;
    else if (field.dataTypeID === NAME_ARRAY) {
      field.dataTypeID = TEXT_ARRAY;
      for (const row of result.rows) {
        if (typeof row[col] === 'string') row[col] = parseArray(row[col]);
      }
    }
  }
  return result;
}

// pg's pool calls its clients' query with a callback: keep that form too.
function textNames(queryable, parseArray) {
  const query = queryable.query.bind(queryable);
  queryable.query = (...a) => {
    const cb = a[a.length - 1];
    if (typeof cb === 'function') {
      a[a.length - 1] = (e, r) => cb(e, r && asText(r, parseArray));
      return query(...a);
    }
    const out = query(...a);
    return out && typeof out.then === 'function' ? out.then((r) => asText(r, parseArray)) : out;
  };
  return queryable;
}

// Prisma's own URL parameters are not libpq's: the pool size and schema are
// read here and the rest of Prisma's dropped before pg sees the URL.
function pgConfig(url) {
  const u = new URL(url);
  const p = u.searchParams;
  const config = { max: Number(p.get('connection_limit')) || 10 };
  const schema = p.get('schema') || undefined;
  if (p.get('connect_timeout')) config.connectionTimeoutMillis = Number(p.get('connect_timeout')) * 1000;
  for (const k of ['connection_limit', 'pool_timeout', 'pgbouncer', 'socket_timeout', 'connect_timeout',
    'statement_cache_size', 'schema', 'sslaccept', 'max_idle_connection_lifetime', 'max_connection_lifetime']) {
    p.delete(k);
  }
  config.connectionString = u.toString();
  return { config, schema };
}

async function loadEngine(datamodel, url) {
  const pg = require('pg');
  const { PrismaPg } = require('@prisma/adapter-pg');
  const { bindAdapter } = require('@prisma/driver-adapter-utils');
  const { parse: parseArray } = require('postgres-array');
  const wasmDir = path.join(modules, 'node_modules/@prisma/query-engine-wasm/postgresql');
  const runtime = await import(pathToFileURL(path.join(wasmDir, 'query_engine_bg.js')).href);
  const wasm = new WebAssembly.Module(fs.readFileSync(path.join(wasmDir, 'query_engine_bg.wasm')));
  runtime.__wbg_set_wasm(new WebAssembly.Instance(wasm, { './query_engine_bg.js': runtime }).exports);

  class Pool extends pg.Pool {
    async connect(...a) {
      if (a.length) return super.connect(...a);
      return textNames(await super.connect(), parseArray);
    }
  }
  const { config, schema } = pgConfig(url);
  const pool = textNames(new Pool(config), parseArray);
  pool.on('error', (e) => process.stderr.write(`prisma-engine (litekeys): idle connection: ${e.message}\n`));
  const adapter = bindAdapter(new PrismaPg(pool, { schema }));
  const log = (line) => {
    if (/"level":"(error|warn)"/.test(line)) process.stderr.write(`prisma-engine (litekeys): ${line}\n`);
  };
  const engine = new runtime.QueryEngine({ datamodel, logLevel: 'warn', logQueries: false }, log, adapter);
  await engine.connect('{}');
  return { engine, pool };
}

// ---- the HTTP side prisma-client-py talks to ----

function databaseUrl(schema) {
  const overrides = process.env.OVERWRITE_DATASOURCES;
  if (overrides) {
    const first = JSON.parse(overrides).find((d) => d.url);
    if (first) return first.url;
  }
  const url = process.env[schema.envName];
  if (!url) fail(`the schema's datasource wants ${schema.envName}, which is not set`);
  return url;
}

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const TRACE = JSON.stringify({ traceparent: '00-00000000000000000000000000000000-0000000000000000-00' });

async function handle(engine, schema, req) {
  const url = new URL(req.url, 'http://engine');
  const text = await body(req);
  if (req.method === 'GET' && url.pathname === '/status') return { status: 'ok' };
  if (url.pathname === '/metrics') return { counters: [], gauges: [], histograms: [] };
  if (req.method !== 'POST') return null;
  const tx = req.headers['x-transaction-id'] || undefined;
  if (url.pathname === '/') {
    const doc = JSON.parse(text);
    if (doc.batch) {
      const batch = doc.batch.map((q) => toJsonProtocol(q.query, schema));
      const request = { batch, transaction: doc.transaction ? {} : undefined };
      return asGraphqlAnswer(JSON.parse(await engine.query(JSON.stringify(request), TRACE, tx)));
    }
    let request;
    try {
      request = toJsonProtocol(doc.query, schema);
    } catch (e) {
      return { errors: [{ error: String(e.message), user_facing_error: { is_panic: false, message: String(e.message) } }] };
    }
    return asGraphqlAnswer(JSON.parse(await engine.query(JSON.stringify(request), TRACE, tx)));
  }
  if (url.pathname === '/transaction/start') return JSON.parse(await engine.startTransaction(text || '{}', TRACE));
  const m = /^\/transaction\/([^/]+)\/(commit|rollback)$/.exec(url.pathname);
  if (m) {
    const done = m[2] === 'commit' ? engine.commitTransaction(m[1], TRACE) : engine.rollbackTransaction(m[1], TRACE);
    return JSON.parse((await done) || '{}');
  }
  return null;
}

async function main() {
  const portAt = Math.max(args.indexOf('-p'), args.indexOf('--port'));
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 0;
  const dml = process.env.PRISMA_DML_PATH;
  if (!dml) fail('PRISMA_DML_PATH is not set');
  const datamodel = fs.readFileSync(dml, 'utf8');
  const schema = readSchema(datamodel);
  const { engine, pool } = await loadEngine(datamodel, databaseUrl(schema));

  const server = http.createServer((req, res) => {
    handle(engine, schema, req).then(
      (answer) => {
        res.writeHead(answer === null ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer ?? { error: 'not found' }));
      },
      (e) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ error: String(e && e.message), user_facing_error: { is_panic: false, message: String(e && e.message) } }] }));
      },
    );
  });
  // prisma-client-py keeps connections in a pool for as long as it likes:
  // closing an idle one (Node's default after 5 s) races its next request.
  server.keepAliveTimeout = 0;
  server.listen(port, '127.0.0.1');

  let stopping = false;
  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    if (why) process.stderr.write(`prisma-engine (litekeys): stopping: ${why}\n`);
    server.close();
    setTimeout(() => process.exit(0), 2000).unref();
    engine.disconnect(TRACE).catch(() => {}).then(() => pool.end()).finally(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);
  // The proxy that started us may die by SIGKILL: never outlive it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop(`its parent ${parent} is gone`);
  }, 500).unref();
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => fail(e && e.message ? e.message : String(e)));
}
