#!/usr/bin/env node
// Sequelize (mysql2 driver) through shardgate, compared with a plain MariaDB:
// sync, showAllTables, describeTable, showIndex, CRUD, findAndCountAll,
// aggregates and a rolled-back transaction on a sharded table (sq_orders,
// sharded by customerId then id). The environment is the one of
// ../compare.py; scripts/client_tests.sh installs the packages (npm ci here)
// and runs it. Prints one line per check, then "N passed, M failed".
'use strict';

const assert = require('assert/strict');
const { Sequelize, DataTypes, Op } = require('sequelize');
const mysql = require('mysql2/promise');

const env = process.env;
const HOST = env.PROXY_HOST || '127.0.0.1';
const DB = env.ORM_DB || 'shop';
const targets = {
  proxy: { port: +(env.PROXY_PORT || 3307), user: env.ORM_USER || 'orm', password: env.ORM_PASSWORD || 'orm_pw' },
  reference: { port: +(env.REF_PORT || 3306), user: env.REF_USER || 'ref', password: env.REF_PASSWORD || 'ref_pw' },
};
const shards = (env.SHARD_PORTS || '').split(',').filter(Boolean).map((port, i) => ({
  port: +port,
  database: (env.SHARD_DBS || '').split(',')[i],
}));

function open(t) {
  const sequelize = new Sequelize(DB, t.user, t.password, {
    host: HOST, port: t.port, dialect: 'mysql', logging: env.SQ_LOG ? console.log : false,
    pool: { max: 2, min: 0 }, dialectOptions: { connectTimeout: 10000 },
  });
  const Customer = sequelize.define('Customer', {
    name: { type: DataTypes.STRING(40), allowNull: false },
    email: { type: DataTypes.STRING(80), allowNull: false, unique: true },
  }, { tableName: 'sq_customers' });
  const Tag = sequelize.define('Tag', {
    id: { type: DataTypes.INTEGER, primaryKey: true },
    label: { type: DataTypes.STRING(20), allowNull: false },
  }, { tableName: 'sq_tags', timestamps: false });
  const Order = sequelize.define('Order', {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
    customerId: { type: DataTypes.INTEGER, allowNull: false },
    amount: { type: DataTypes.DECIMAL(10, 2), allowNull: false },
    status: { type: DataTypes.STRING(8), allowNull: false, defaultValue: 'new' },
    note: { type: DataTypes.TEXT },
  }, { tableName: 'sq_orders', indexes: [{ fields: ['customerId', 'status'] }] });
  return { sequelize, Customer, Tag, Order };
}

const orms = { proxy: open(targets.proxy), reference: open(targets.reference) };

// fn(orm) on both; the results must be equal.
async function onBoth(name, fn) {
  const proxy = await fn(orms.proxy);
  const reference = await fn(orms.reference);
  try {
    assert.deepStrictEqual(proxy, reference);
  } catch (e) {
    throw new Error(`${name} differs\n  proxy:     ${JSON.stringify(proxy)}\n  reference: ${JSON.stringify(reference)}`);
  }
  return proxy;
}

const DAY = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
const ORDERS = [[1, '10.00', 'new'], [1, '2.50', 'paid'], [2, '7.00', 'new'], [3, '99.90', 'paid'],
  [4, '0.10', 'new'], [5, '5.55', 'sent'], [6, '6.00', 'new'], [7, '70.00', 'paid']];

const seen = async ({ Order }) => (await Order.findAll({
  attributes: ['customerId', 'amount', 'status', 'note'],
  order: [['customerId', 'ASC'], ['amount', 'ASC']], raw: true,
}));

async function sync() {
  await onBoth('sync', async ({ sequelize }) => {
    const qi = sequelize.getQueryInterface();
    for (const t of ['sq_orders', 'sq_tags', 'sq_customers']) await qi.dropTable(t);
    await sequelize.sync();
    // A second sync (alter) compares the tables with the models: nothing to change.
    await sequelize.sync({ alter: true });
    return (await qi.showAllTables()).filter((t) => t.startsWith('sq_')).sort();
  });
}

async function showAllTablesAndDescribe() {
  const got = await onBoth('describe', async ({ sequelize }) => {
    const qi = sequelize.getQueryInterface();
    const out = { tables: (await qi.showAllTables()).sort() };
    for (const t of out.tables) {
      out[t] = { columns: await qi.describeTable(t) };
      out[t].indexes = (await qi.showIndex(t)).map((i) => ({ ...i }))
        .sort((a, b) => a.name.localeCompare(b.name));
      out[t].references = await qi.getForeignKeyReferencesForTable(t);
    }
    return out;
  });
  assert.ok(got.tables.includes('sq_orders'), JSON.stringify(got.tables));
  assert.deepStrictEqual(Object.keys(got.sq_orders.columns),
    ['id', 'customerId', 'amount', 'status', 'note', 'createdAt', 'updatedAt']);
}

async function actualRows(prefix) {
  const counts = {};
  for (const { port, database } of shards) {
    const conn = await mysql.createConnection({ host: HOST, port, user: 'root', database });
    const [tables] = await conn.query(
      'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME REGEXP ?',
      [database, `^${prefix}_[0-9]+$`]);
    for (const { t } of tables) {
      const [[{ n }]] = await conn.query(`SELECT COUNT(*) AS n FROM \`${t}\``);
      counts[`${database}.${t}`] = n;
    }
    await conn.end();
  }
  return counts;
}

async function crud() {
  await onBoth('crud', async (orm) => {
    const { Order, Customer, Tag } = orm;
    await Customer.create({ name: 'ann', email: 'ann@x' });
    await Tag.bulkCreate([{ id: 1, label: 'red' }, { id: 2, label: 'blue' }]);
    const made = [];
    for (const [customerId, amount, status] of ORDERS) {
      made.push(await Order.create({ customerId, amount, status }));
    }
    const ids = made.map((o) => String(o.id));
    assert.equal(new Set(ids).size, ids.length);
    for (const o of made) {
      const again = await Order.findByPk(o.id);
      assert.ok(again, `findByPk(${o.id})`);
      assert.equal(again.customerId, o.customerId);
    }
    // bulkCreate here would count ids up from the first insertId, which
    // Sequelize cannot do past 2^53 (a snowflake id is): it hangs, on a
    // plain MariaDB table with such ids as well. A multi-row INSERT instead.
    await orm.sequelize.getQueryInterface().bulkInsert('sq_orders', [
      { customerId: 8, amount: '8.80', status: 'new', createdAt: DAY, updatedAt: DAY },
      { customerId: 9, amount: '9.90', status: 'new', createdAt: DAY, updatedAt: DAY }]);
    const one = await Order.findOne({ where: { customerId: 2 } });
    one.note = 'updated ü';
    one.status = 'paid';
    await one.save();
    await Order.update({ note: 'bulk' }, { where: { status: 'new' } });
    await Order.destroy({ where: { customerId: 6 } });
    await Order.increment({ amount: 1 }, { where: { customerId: { [Op.in]: [3, 4] } } });
    const page = await Order.findAndCountAll({
      where: { amount: { [Op.gt]: 1 } }, order: [['amount', 'DESC']], limit: 3, offset: 1,
      attributes: ['customerId', 'amount'], raw: true,
    });
    const grouped = await Order.findAll({
      attributes: ['status', [orm.sequelize.fn('COUNT', orm.sequelize.col('id')), 'n'],
        [orm.sequelize.fn('SUM', orm.sequelize.col('amount')), 'total']],
      group: ['status'], order: [['status', 'ASC']], raw: true,
    });
    return {
      orders: await seen(orm), page, grouped,
      count: await Order.count(), max: await Order.max('amount'), sum: await Order.sum('amount'),
      tags: await Tag.findAll({ order: [['id', 'ASC']], raw: true }),
    };
  });
  const counts = await actualRows('sq_orders');
  assert.equal(Object.keys(counts).length, 4, JSON.stringify(counts));
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), ORDERS.length + 1, JSON.stringify(counts));
}

async function rolledBack() {
  await onBoth('rollback', async (orm) => {
    const before = await seen(orm);
    const t = await orm.sequelize.transaction();
    await orm.Order.create({ customerId: 10, amount: '1.00' }, { transaction: t });
    await orm.Order.create({ customerId: 11, amount: '2.00' }, { transaction: t });
    await orm.Order.update({ note: 'rolled back' }, { where: { customerId: 1 }, transaction: t });
    const inside = await orm.Order.count({ transaction: t });
    await t.rollback();
    assert.deepStrictEqual(await seen(orm), before);
    // A managed transaction that throws rolls back too.
    await assert.rejects(orm.sequelize.transaction(async (tx) => {
      await orm.Order.destroy({ where: { customerId: 5 }, transaction: tx });
      throw new Error('abort');
    }), /abort/);
    return { inside, after: await seen(orm) };
  });
}

async function main() {
  let passed = 0;
  let failed = 0;
  for (const [name, fn] of [
    ['sequelize: sync', sync],
    ['sequelize: showAllTables, describeTable, showIndex', showAllTablesAndDescribe],
    ['sequelize: CRUD and findAndCountAll on a sharded table', crud],
    ['sequelize: rolled-back transaction', rolledBack],
  ]) {
    try {
      await fn();
      passed += 1;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed += 1;
      const cause = e.parent ? `\n${e.parent.errno} ${e.parent.sqlMessage}\n${e.sql}` : '';
      console.log(`FAIL ${name}\n${e.stack || e}${cause}`);
    }
  }
  for (const orm of Object.values(orms)) await orm.sequelize.close();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
