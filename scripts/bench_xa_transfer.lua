-- sysbench test for scripts/bench.sh (BENCH_XA=1): one write transaction
-- across two data sources per event: BEGIN, a single-row UPDATE on an even
-- id (ds_0) and one on an odd id (ds_1), COMMIT. --txmode=local|xa sets
-- shardgate_transaction_mode on each connection.

sysbench.cmdline.options = {
  txmode = {"shardgate_transaction_mode of every connection: local or xa", "xa"},
  table_size = {"Rows in sbtest1", 10000},
  tables = {"Unused (bench.sh passes it to every test)", 1},
}

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  con:query("SET shardgate_transaction_mode = '" .. sysbench.opt.txmode .. "'")
end

function thread_done()
  con:disconnect()
end

function event()
  local half = math.floor(sysbench.opt.table_size / 2)
  local even = sysbench.rand.uniform(1, half) * 2
  local odd = sysbench.rand.uniform(1, half) * 2 - 1
  con:query("BEGIN")
  con:query("UPDATE sbtest1 SET k = k + 1 WHERE id = " .. even)
  con:query("UPDATE sbtest1 SET k = k + 1 WHERE id = " .. odd)
  con:query("COMMIT")
end
