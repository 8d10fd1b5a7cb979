// Node mysql2 through shardgate: TLS verified against the proxy's
// certificate, caching_sha2_password (switched to it for a user stored as
// password_sha2 only; over plain TCP too), mysql_native_password, wrong
// passwords; after the reload, 3159 for plain logins and the renewed
// certificate. Environment and users: see tests/clients/ops/test_auth_tls.py.
'use strict';

const fs = require('fs');
const mysql = require('mysql2/promise');

const PORT = Number(process.env.OPS_PORT);
const PHASE = process.env.OPS_PHASE || 'open';
const CA = process.env.OPS_CA;
const OLD_CA = process.env.OPS_OLD_CA;

const results = [];

async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL ${name}\n${e && e.stack ? e.stack : e}`);
  }
}

function connect(user, password, ca) {
  const options = {
    host: '127.0.0.1', port: PORT, user, password, database: 'demo', connectTimeout: 10000,
  };
  // The certificate names 127.0.0.1, so the host name is checked as well.
  if (ca) options.ssl = { ca: fs.readFileSync(ca), rejectUnauthorized: true };
  return mysql.createConnection(options);
}

async function selectOne(user, password, ca) {
  const conn = await connect(user, password, ca);
  try {
    // mysql2 routes its writes through the TLS socket once it upgraded.
    const encrypted = Object.prototype.hasOwnProperty.call(conn.connection, 'write');
    if (encrypted !== Boolean(ca)) throw new Error(`encrypted: ${encrypted}`);
    const [rows] = await conn.query('SELECT 1 AS one');
    if (rows.length !== 1 || Number(rows[0].one) !== 1) {
      throw new Error(`SELECT 1 gave ${JSON.stringify(rows)}`);
    }
  } finally {
    await conn.end();
  }
}

async function expectError(errno, user, password, ca) {
  let conn;
  try {
    conn = await connect(user, password, ca);
  } catch (e) {
    if (e.errno !== errno) throw new Error(`expected ${errno}, got ${e.errno}: ${e.message}`);
    return;
  }
  await conn.end();
  throw new Error(`expected error ${errno}, the login worked`);
}

async function openPhase() {
  await check('mysql2: TLS, caching_sha2_password (password_sha2 only)', () => selectOne('s2', 's2_pw', CA));
  await check('mysql2: TLS, mysql_native_password (password_sha1 only)', () => selectOne('s1', 's1_pw', CA));
  await check('mysql2: plain TCP, caching_sha2_password fast path', () => selectOne('s2', 's2_pw'));
  await check('mysql2: plain TCP, mysql_native_password', () => selectOne('app', 'app_pw'));
  await check('mysql2: wrong passwords: 1045', async () => {
    await expectError(1045, 's2', 'nope', CA);
    await expectError(1045, 's2', 'nope');
    await expectError(1045, 's1', 'nope');
  });
}

async function requiredPhase() {
  await check('mysql2: plain TCP refused with 3159', () => expectError(3159, 'app', 'app_pw'));
  await check('mysql2: TLS verified against the renewed certificate', () => selectOne('s2', 's2_pw', CA));
  await check('mysql2: the certificate from before the renewal no longer verifies', async () => {
    let conn;
    try {
      conn = await connect('s2', 's2_pw', OLD_CA);
    } catch (e) {
      if (!/cert/i.test(`${e.code} ${e.message}`)) throw e;
      return;
    }
    await conn.end();
    throw new Error('the old certificate still verified');
  });
}

(async () => {
  await (PHASE === 'open' ? openPhase() : requiredPhase());
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed || results.length === 0 ? 1 : 0);
})();
