//! Merge throughput in rows per second: a k-way merge of sorted streams (4
//! and 16 units), plain concatenation, and GROUP BY with COUNT and SUM over
//! about 1000 groups, hashed and streamed, and GROUP BY with an expression
//! over the merged aggregates (4 and 16 units); UNION DISTINCT's dedup of
//! sorted streams, window functions over sorted partitions, GROUP_CONCAT
//! (joined partials, and ordered values) and GROUP BY ... WITH ROLLUP (4
//! and 16 units each). Rows are text-protocol integers, as a backend sends
//! them.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures_util::FutureExt;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use shardgate::error::Error;
use shardgate::merge::{
    merge, Aggregate, AggregateColumn, ArithOp, ComputedColumn, ConcatForm, ConcatPlan, Expr,
    MemorySource, RowSink, SelectMerge, SortKey,
};
use std::hint::black_box;

const ROWS: usize = 100_000;
const GROUPS: usize = 1_000;

/// Counts rows instead of sending them anywhere.
struct Discard(u64);

impl RowSink for Discard {
    async fn row(&mut self, values: &[Value]) -> Result<(), Error> {
        black_box(values);
        self.0 += 1;
        Ok(())
    }
}

fn text(n: u64) -> Value {
    Value::Bytes(n.to_string().into_bytes())
}

fn column(t: ColumnType, decimals: u8) -> Column {
    Column::new(t).with_decimals(decimals)
}

/// `ROWS` rows `(key, payload)` dealt round-robin to `units`, each sorted by key.
fn sorted_units(units: usize) -> Vec<Vec<Vec<Value>>> {
    let mut out = vec![Vec::with_capacity(ROWS / units + 1); units];
    for i in 0..ROWS as u64 {
        let key = i.wrapping_mul(2_654_435_761) % 1_000_000;
        out[i as usize % units].push((key, i));
    }
    out.into_iter()
        .map(|mut unit: Vec<(u64, u64)>| {
            unit.sort_unstable();
            unit.into_iter()
                .map(|(k, i)| vec![text(k), text(i)])
                .collect()
        })
        .collect()
}

/// Partial groups `(k, COUNT(*), SUM(x))` from 4 units, `ROWS` rows in all,
/// `GROUPS` keys; sorted by key when `sorted`.
fn group_units(sorted: bool) -> Vec<Vec<Vec<Value>>> {
    let mut out: Vec<Vec<(u64, u64)>> = vec![Vec::new(); 4];
    for i in 0..ROWS as u64 {
        let key = i.wrapping_mul(2_654_435_761) % GROUPS as u64;
        out[i as usize % 4].push((key, i));
    }
    out.into_iter()
        .map(|mut unit| {
            if sorted {
                unit.sort_unstable();
            }
            unit.into_iter()
                .map(|(k, i)| vec![text(k), text(1 + i % 7), text(i % 1000)])
                .collect()
        })
        .collect()
}

fn run(spec: &SelectMerge, columns: &[Column], units: Vec<Vec<Vec<Value>>>) -> u64 {
    let sources: Vec<MemorySource> = units.into_iter().map(MemorySource::new).collect();
    let mut sink = Discard(0);
    merge(spec, columns, sources, &mut sink)
        .now_or_never()
        .expect("in-memory sources never wait")
        .expect("merge succeeds");
    sink.0
}

fn merges(c: &mut Criterion) {
    let ints = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
    ];
    let mut group = c.benchmark_group("merge");
    group.throughput(Throughput::Elements(ROWS as u64));

    let order = SelectMerge {
        order_by: vec![SortKey {
            column: 0,
            descending: false,
        }],
        streams_sorted: true,
        ..SelectMerge::new(2)
    };
    for units in [4, 16] {
        let data = sorted_units(units);
        bench_spec(
            &mut group,
            format!("sorted k-way, {units} streams"),
            &order,
            &ints,
            data,
        );
    }
    let data = sorted_units(4);
    bench_spec(
        &mut group,
        "concat, 4 streams".to_string(),
        &SelectMerge::new(2),
        &ints,
        data,
    );

    let columns = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 0),
    ];
    for sorted in [false, true] {
        let spec = SelectMerge {
            group_by: vec![0],
            aggregates: vec![
                AggregateColumn {
                    column: 1,
                    function: Aggregate::Count,
                },
                AggregateColumn {
                    column: 2,
                    function: Aggregate::Sum,
                },
            ],
            order_by: vec![SortKey {
                column: 0,
                descending: false,
            }],
            streams_sorted: sorted,
            ..SelectMerge::new(3)
        };
        let data = group_units(sorted);
        let name = if sorted {
            "group by, 1000 groups, streamed"
        } else {
            "group by, 1000 groups, hashed"
        };
        bench_spec(&mut group, name.to_string(), &spec, &columns, data);
    }
    // `SELECT k, COUNT(*), SUM(x), SUM(x) / COUNT(*) ... GROUP BY k`: the
    // expression over the merged aggregates computed per group.
    let computed_columns = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 0),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 4),
    ];
    for units in [4, 16] {
        let spec = SelectMerge {
            group_by: vec![0],
            aggregates: vec![
                AggregateColumn {
                    column: 1,
                    function: Aggregate::Count,
                },
                AggregateColumn {
                    column: 2,
                    function: Aggregate::Sum,
                },
            ],
            computed: vec![ComputedColumn {
                column: 3,
                expr: Expr::arithmetic(ArithOp::Div, Expr::Column(2), Expr::Column(1)),
            }],
            order_by: vec![SortKey {
                column: 0,
                descending: false,
            }],
            streams_sorted: true,
            ..SelectMerge::new(4)
        };
        let data: Vec<Vec<Vec<Value>>> = spread(group_units(true), units)
            .into_iter()
            .map(|unit| {
                unit.into_iter()
                    .map(|mut row| {
                        row.push(text(0));
                        row
                    })
                    .collect()
            })
            .collect();
        bench_spec(
            &mut group,
            format!("group by + SUM/COUNT computed, {units} streams"),
            &spec,
            &computed_columns,
            data,
        );
    }
    // UNION DISTINCT: units sorted by every column, duplicates within and
    // across units dropped as they meet in the k-way merge.
    {
        /// `ROWS` rows `(a, b)`, about a third of them duplicates, dealt
        /// round-robin to `units`, each sorted by (a, b).
        fn union_units(units: usize) -> Vec<Vec<Vec<Value>>> {
            let mut out: Vec<Vec<(u64, u64)>> = vec![Vec::new(); units];
            for i in 0..ROWS as u64 {
                let key = i.wrapping_mul(2_654_435_761) % (ROWS as u64 * 2 / 3);
                out[i as usize % units].push((key / 7, key % 7));
            }
            out.into_iter()
                .map(|mut unit| {
                    unit.sort_unstable();
                    unit.into_iter()
                        .map(|(a, b)| vec![text(a), text(b)])
                        .collect()
                })
                .collect()
        }
        let distinct = SelectMerge {
            distinct: true,
            order_by: vec![
                SortKey {
                    column: 0,
                    descending: false,
                },
                SortKey {
                    column: 1,
                    descending: false,
                },
            ],
            streams_sorted: true,
            ..SelectMerge::new(2)
        };
        for units in [4, 16] {
            let data = union_units(units);
            bench_spec(
                &mut group,
                format!("union distinct, {units} streams"),
                &distinct,
                &ints,
                data,
            );
        }
    }
    group.finish();
}

/// The rows of `units` dealt over `n` sorted units (each unit's rows stay sorted).
fn spread(units: Vec<Vec<Vec<Value>>>, n: usize) -> Vec<Vec<Vec<Value>>> {
    let mut out = vec![Vec::new(); n];
    for (i, unit) in units.into_iter().enumerate() {
        for (j, row) in unit.into_iter().enumerate() {
            out[(i + j * 4) % n].push(row);
        }
    }
    out
}

// Window functions (issue 10, item 3): ROW_NUMBER, a running SUM and LAG
// over about 1000 partitions of 100 rows, at 4 and 16 streams.

/// `ROWS` rows `(p, i, x)` with `GROUPS` partitions, dealt round-robin to
/// `units`, each sorted by (p, i); three columns for the window values.
fn window_units(units: usize) -> Vec<Vec<Vec<Value>>> {
    let mut out = vec![Vec::with_capacity(ROWS / units + 1); units];
    for i in 0..ROWS as u64 {
        let p = i.wrapping_mul(2_654_435_761) % GROUPS as u64;
        out[i as usize % units].push((p, i));
    }
    out.into_iter()
        .map(|mut unit: Vec<(u64, u64)>| {
            unit.sort_unstable();
            unit.into_iter()
                .map(|(p, i)| vec![text(p), text(i), text(i % 97), text(0), text(0), text(0)])
                .collect()
        })
        .collect()
}

fn windows(c: &mut Criterion) {
    use shardgate::merge::{Frame, WindowColumn, WindowFunction, WindowMerge};
    let int = || column(ColumnType::MYSQL_TYPE_LONGLONG, 0);
    let columns = [
        int(),
        int(),
        int(),
        int(),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 0),
        int(),
    ];
    let window = |column, function| WindowColumn {
        column,
        function,
        frame: Frame::Default,
        order_keys: 1,
    };
    let spec = SelectMerge {
        order_by: vec![
            SortKey {
                column: 0,
                descending: false,
            },
            SortKey {
                column: 1,
                descending: false,
            },
        ],
        streams_sorted: true,
        window: Some(WindowMerge {
            partition_keys: 1,
            functions: vec![
                window(3, WindowFunction::RowNumber),
                window(4, WindowFunction::Sum { value: 2 }),
                window(
                    5,
                    WindowFunction::Lag {
                        value: 2,
                        offset: 1,
                        default: None,
                    },
                ),
            ],
            max_partition_rows: 100_000,
        }),
        ..SelectMerge::new(6)
    };
    let mut group = c.benchmark_group("merge");
    group.throughput(Throughput::Elements(ROWS as u64));
    for units in [4, 16] {
        let data = window_units(units);
        bench_spec(
            &mut group,
            format!("window ROW_NUMBER/SUM/LAG, {units} streams"),
            &spec,
            &columns,
            data,
        );
    }
    group.finish();
}

// GROUP_CONCAT and WITH ROLLUP merges.

/// The rows of [`group_units`] (sorted) dealt over `units`, each row
/// reshaped by `shape(key, count, sum)`.
fn shaped_units(units: usize, shape: impl Fn(&[Value]) -> Vec<Value>) -> Vec<Vec<Vec<Value>>> {
    spread(group_units(true), units)
        .into_iter()
        .map(|unit| unit.iter().map(|row| shape(row)).collect())
        .collect()
}

fn bench_spec(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: String,
    spec: &SelectMerge,
    columns: &[Column],
    data: Vec<Vec<Vec<Value>>>,
) {
    group.bench_function(name, |b| {
        b.iter_batched(
            || data.clone(),
            |units| run(spec, columns, units),
            BatchSize::LargeInput,
        )
    });
}

fn concat_and_rollup(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    group.throughput(Throughput::Elements(ROWS as u64));
    let by_key = |visible| SelectMerge {
        group_by: vec![0],
        order_by: vec![SortKey {
            column: 0,
            descending: false,
        }],
        streams_sorted: true,
        ..SelectMerge::new(visible)
    };
    let plan = |form, values: Vec<usize>, order: Vec<SortKey>, count| ConcatPlan {
        form,
        max_len: 2,
        separator: ",".into(),
        values,
        distinct: false,
        order,
        count,
    };
    let concat = |plan| AggregateColumn {
        column: 1,
        function: Aggregate::Concat { plan },
    };
    let max_len = || text(1 << 20);
    // `SELECT k, GROUP_CONCAT(x) ... GROUP BY k`: each unit's partial
    // concatenation (here one value per unit row) joined.
    let joined = SelectMerge {
        aggregates: vec![concat(0)],
        concats: vec![plan(ConcatForm::Joined, vec![], vec![], None)],
        ..by_key(2)
    };
    let joined_columns = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_BLOB, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
    ];
    // `SELECT k, GROUP_CONCAT(x ORDER BY x) ... GROUP BY k`: one value and
    // its row count per unit row, sorted per group at its end.
    let ordered = SelectMerge {
        aggregates: vec![concat(0)],
        concats: vec![plan(
            ConcatForm::Values,
            vec![3],
            vec![SortKey {
                column: 3,
                descending: false,
            }],
            Some(4),
        )],
        ..by_key(2)
    };
    let ordered_columns = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_BLOB, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
    ];
    // `SELECT a, b, COUNT(*), SUM(x) ... GROUP BY a, b WITH ROLLUP`: 100 × 10
    // groups, 111 super-aggregate rows.
    let rollup = SelectMerge {
        group_by: vec![0, 1],
        aggregates: vec![
            AggregateColumn {
                column: 2,
                function: Aggregate::Count,
            },
            AggregateColumn {
                column: 3,
                function: Aggregate::Sum,
            },
        ],
        order_by: vec![
            SortKey {
                column: 0,
                descending: false,
            },
            SortKey {
                column: 1,
                descending: false,
            },
        ],
        streams_sorted: true,
        rollup: true,
        ..SelectMerge::new(4)
    };
    let rollup_columns = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 0),
    ];
    let key = |row: &[Value]| -> u64 {
        match &row[0] {
            Value::Bytes(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            _ => 0,
        }
    };
    for units in [4, 16] {
        let data = shaped_units(units, |row| vec![row[0].clone(), row[2].clone(), max_len()]);
        bench_spec(
            &mut group,
            format!("group_concat joined, 1000 groups, {units} streams"),
            &joined,
            &joined_columns,
            data,
        );
        let data = shaped_units(units, |row| {
            vec![
                row[0].clone(),
                text(0),
                max_len(),
                row[2].clone(),
                row[1].clone(),
            ]
        });
        bench_spec(
            &mut group,
            format!("group_concat ordered, 1000 groups, {units} streams"),
            &ordered,
            &ordered_columns,
            data,
        );
        let data = shaped_units(units, |row| {
            let k = key(row);
            vec![text(k / 10), text(k % 10), row[1].clone(), row[2].clone()]
        });
        bench_spec(
            &mut group,
            format!("group by with rollup, 1000 groups, {units} streams"),
            &rollup,
            &rollup_columns,
            data,
        );
    }
    group.finish();
}

criterion_group!(benches, merges, windows, concat_and_rollup);
criterion_main!(benches);
