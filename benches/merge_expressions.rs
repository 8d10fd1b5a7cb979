//! Throughput (unit rows per second) of the merges added for expressions
//! over aggregates and for the statistics, at 4 and 16 units, over about
//! 1000 streamed groups: `STDDEV_SAMP(x)` merged from each unit's COUNT, SUM
//! and VAR_POP; and `ROUND(SUM(x) / COUNT(*), 2)`, a CASE over SUM and a
//! CONCAT of the key and COUNT computed per merged group. Rows are
//! text-protocol values, as a backend sends them.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use futures_util::FutureExt;
use mysql_common::constants::ColumnType;
use mysql_common::packets::Column;
use mysql_common::value::Value;
use shardgate::error::Error;
use shardgate::merge::{
    merge, Aggregate, AggregateColumn, ArithOp, CompareOp, ComputedColumn, Expr, Function, Literal,
    MemorySource, RowSink, SelectMerge, SortKey,
};
use std::hint::black_box;

const ROWS: usize = 100_000;
const GROUPS: u64 = 1_000;

/// Counts rows instead of sending them anywhere.
struct Discard(u64);

impl RowSink for Discard {
    async fn row(&mut self, values: &[Value]) -> Result<(), Error> {
        black_box(values);
        self.0 += 1;
        Ok(())
    }
}

fn text(s: impl ToString) -> Value {
    Value::Bytes(s.to_string().into_bytes())
}

fn column(t: ColumnType, decimals: u8) -> Column {
    Column::new(t).with_decimals(decimals)
}

/// `ROWS` partial groups dealt to `units`, each sorted by its key: the
/// row `make(key, i)` for the i-th.
fn units(n: usize, make: impl Fn(u64, u64) -> Vec<Value>) -> Vec<Vec<Vec<Value>>> {
    let mut out: Vec<Vec<(u64, u64)>> = vec![Vec::new(); n];
    for i in 0..ROWS as u64 {
        let key = i.wrapping_mul(2_654_435_761) % GROUPS;
        out[i as usize % n].push((key, i));
    }
    out.into_iter()
        .map(|mut unit| {
            unit.sort_unstable();
            unit.into_iter().map(|(k, i)| make(k, i)).collect()
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

fn sorted_groups(visible: usize) -> SelectMerge {
    SelectMerge {
        group_by: vec![0],
        order_by: vec![SortKey {
            column: 0,
            descending: false,
        }],
        streams_sorted: true,
        ..SelectMerge::new(visible)
    }
}

fn merges(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge_expressions");
    group.throughput(Throughput::Elements(ROWS as u64));

    // SELECT k, STDDEV_SAMP(x) ... GROUP BY k: #2 COUNT(x), #3 SUM(x), #4 VAR_POP(x).
    let statistics_columns = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_DOUBLE, 4),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 0),
        column(ColumnType::MYSQL_TYPE_DOUBLE, 31),
    ];
    let statistics = SelectMerge {
        aggregates: vec![AggregateColumn {
            column: 1,
            function: Aggregate::Variance {
                count: 2,
                sum: 3,
                var_pop: 4,
                sample: true,
                root: true,
            },
        }],
        ..sorted_groups(2)
    };
    for n in [4, 16] {
        let data = units(n, |k, i| {
            vec![
                text(k),
                text("1.5"),
                text(1 + i % 7),
                text(i % 1000 * 3),
                text(0.25 * (i % 13) as f64),
            ]
        });
        group.bench_function(format!("stddev_samp, 1000 groups, {n} streams"), |b| {
            b.iter_batched(
                || data.clone(),
                |units| run(&statistics, &statistics_columns, units),
                BatchSize::LargeInput,
            )
        });
    }

    // SELECT k, ROUND(SUM(x) / COUNT(*), 2), CASE WHEN SUM(x) > 1000 THEN 1
    // ELSE 0 END, CONCAT(k, ':', COUNT(*)) ... GROUP BY k:
    // #4 COUNT(*), #5 SUM(x), #6 k as a string.
    let expression_columns = [
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 2),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        Column::new(ColumnType::MYSQL_TYPE_VAR_STRING).with_character_set(63),
        column(ColumnType::MYSQL_TYPE_LONGLONG, 0),
        column(ColumnType::MYSQL_TYPE_NEWDECIMAL, 0),
    ];
    let ratio = Expr::arithmetic(ArithOp::Div, Expr::Column(5), Expr::Column(4));
    let expressions = SelectMerge {
        aggregates: vec![
            AggregateColumn {
                column: 4,
                function: Aggregate::Count,
            },
            AggregateColumn {
                column: 5,
                function: Aggregate::Sum,
            },
        ],
        computed: vec![
            ComputedColumn {
                column: 1,
                expr: Expr::Function(Function::Round, vec![ratio, Expr::Literal(Literal::Int(2))]),
            },
            ComputedColumn {
                column: 2,
                expr: Expr::Case {
                    branches: vec![(
                        Expr::compare(
                            CompareOp::Gt,
                            Expr::Column(5),
                            Expr::Literal(Literal::Int(1000)),
                        ),
                        Expr::Literal(Literal::Int(1)),
                    )],
                    otherwise: Some(Box::new(Expr::Literal(Literal::Int(0)))),
                },
            },
            ComputedColumn {
                column: 3,
                expr: Expr::Function(
                    Function::Concat,
                    vec![
                        Expr::Column(0),
                        Expr::Literal(Literal::String(":".into())),
                        Expr::Column(4),
                    ],
                ),
            },
        ],
        ..sorted_groups(4)
    };
    for n in [4, 16] {
        let data = units(n, |k, i| {
            vec![
                text(k),
                text("0.00"),
                text(0),
                text(""),
                text(1 + i % 7),
                text(i % 1000),
            ]
        });
        group.bench_function(
            format!("ROUND + CASE + CONCAT computed, 1000 groups, {n} streams"),
            |b| {
                b.iter_batched(
                    || data.clone(),
                    |units| run(&expressions, &expression_columns, units),
                    BatchSize::LargeInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, merges);
criterion_main!(benches);
