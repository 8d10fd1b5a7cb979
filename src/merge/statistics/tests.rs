use super::*;
use proptest::prelude::*;

/// Two-pass population moments of `values` (the textbook oracle).
fn direct(values: &[f64]) -> Moments {
    let n = values.len() as f64;
    if values.is_empty() {
        return Moments::default();
    }
    let mean = values.iter().sum::<f64>() / n;
    let m2 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
    Moments { n, mean, m2 }
}

/// What one unit sends for `values`: its COUNT, SUM and VAR_POP.
fn unit(values: &[f64]) -> (Value, Value, Value) {
    if values.is_empty() {
        return (Value::Int(0), Value::NULL, Value::NULL);
    }
    let m = direct(values);
    (
        Value::Int(values.len() as i64),
        Value::Double(values.iter().sum()),
        Value::Double(m.m2 / m.n),
    )
}

const ALL: [Statistic; 4] = [
    Statistic {
        sample: false,
        root: false,
    },
    Statistic {
        sample: true,
        root: false,
    },
    Statistic {
        sample: false,
        root: true,
    },
    Statistic {
        sample: true,
        root: true,
    },
];

fn close(a: Option<f64>, b: Option<f64>, scale: f64) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * scale.max(1.0),
        _ => false,
    }
}

proptest! {
    /// Any split of a multiset into units merges to the statistics of the
    /// whole, within a tolerance of the values' magnitude.
    #[test]
    fn any_split_merges_to_the_whole(
        values in prop::collection::vec(-1.0e6f64..1.0e6, 0..60),
        cuts in prop::collection::vec(0usize..60, 0..8),
        offset in prop::sample::select(vec![0.0, 1.0e9, -3.5e12]),
    ) {
        let values: Vec<f64> = values.iter().map(|v| (v * 8.0).round() / 8.0 + offset).collect();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(values.len())).collect();
        cuts.push(0);
        cuts.push(values.len());
        cuts.sort_unstable();
        let mut merged = Moments::default();
        for pair in cuts.windows(2) {
            let (count, sum, var_pop) = unit(&values[pair[0]..pair[1]]);
            if let Some(m) = Moments::of_unit(&count, &sum, &var_pop).unwrap() {
                merged.combine(&m);
            }
        }
        let whole = direct(&values);
        let spread = values.iter().map(|v| (v - whole.mean).abs()).fold(0.0, f64::max);
        for s in ALL {
            let scale = if s.root { spread } else { spread * spread };
            prop_assert!(
                close(merged.value(s), whole.value(s), scale),
                "{s:?}: merged {:?}, whole {:?}", merged.value(s), whole.value(s)
            );
        }
    }
}

#[test]
fn too_few_values_are_null_and_equal_values_are_zero() {
    let one = Moments {
        n: 1.0,
        mean: 5.0,
        m2: 0.0,
    };
    assert_eq!(one.value(ALL[1]), None);
    assert_eq!(one.value(ALL[0]), Some(0.0));
    assert_eq!(Moments::default().value(ALL[0]), None);
    let mut a = Moments {
        n: 2.0,
        mean: 3.0,
        m2: 0.0,
    };
    a.combine(&Moments {
        n: 3.0,
        mean: 3.0,
        m2: 0.0,
    });
    assert_eq!(a.value(ALL[2]), Some(0.0));
    // {1, 2} and {4, 8, 9}: VAR_POP 10.16, as MariaDB answers.
    let mut b = Moments::of_unit(&Value::Int(2), &Value::Int(3), &Value::Double(0.25))
        .unwrap()
        .unwrap();
    b.combine(
        &Moments::of_unit(&Value::Int(3), &Value::Int(21), &Value::Double(14.0 / 3.0))
            .unwrap()
            .unwrap(),
    );
    assert!((b.value(ALL[0]).unwrap() - 10.16).abs() < 1e-12);
}
