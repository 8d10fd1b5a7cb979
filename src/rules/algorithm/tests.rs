//! The test vectors of algorithms.md, pinned: placement must never drift.

use super::*;
use crate::rules::value::murmur3;
use proptest::prelude::*;
use ShardingValue::{Int, Str};

fn s(text: &str) -> ShardingValue {
    Str(text.as_bytes().to_vec())
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn ring(candidates: &[&str]) -> ConsistentHash {
    ConsistentHash::new(&names(candidates), 160).expect("candidates")
}

const LOGS: [&str; 3] = ["ds_0.t_log", "ds_1.t_log", "ds_2.t_log"];

#[test]
fn murmur3_of_canonical_bytes() {
    let cases: [(ShardingValue, &[u8], u32); 8] = [
        (s(""), b"", 0),
        (s("hello"), b"hello", 613_153_351),
        (Int(1), b"1", 2_484_513_939),
        (Int(42), b"42", 3_159_925_814),
        (Int(-7), b"-7", 1_918_780_564),
        (Int(10086), b"10086", 3_669_758_210),
        (s("alice"), b"alice", 1_280_413_405),
        (
            s("张三"),
            &[0xe5, 0xbc, 0xa0, 0xe4, 0xb8, 0x89],
            1_597_942_192,
        ),
    ];
    for (value, bytes, hash) in cases {
        assert_eq!(&*value.canonical_bytes(), bytes, "{value}");
        assert_eq!(value.murmur3(), hash, "{value}");
        assert_eq!(murmur3(bytes), hash, "{value}");
    }
}

#[test]
fn canonical_integer_text() {
    for (i, text) in [
        (0, "0"),
        (-7, "-7"),
        (42, "42"),
        (i64::MIN, "-9223372036854775808"),
        (i64::MAX, "9223372036854775807"),
    ] {
        assert_eq!(&*Int(i).canonical_bytes(), text.as_bytes());
        assert_eq!(Int(i).murmur3(), murmur3(text.as_bytes()));
    }
}

#[test]
fn mod_and_hash_mod_with_four_candidates() {
    let m = Mod::new(4).expect("n > 0");
    let h = HashMod::new(4).expect("n > 0");
    let cases = [
        (Int(0), Some(0), 3),
        (Int(1), Some(1), 3),
        (Int(2), Some(2), 3),
        (Int(42), Some(2), 2),
        (Int(-7), Some(1), 0),
        (Int(10086), Some(2), 2),
        (s("alice"), None, 1),
        (s("张三"), None, 0),
    ];
    for (value, by_mod, by_hash) in cases {
        assert_eq!(m.place(&value), by_mod, "mod {value}");
        assert_eq!(h.place(&value), Some(by_hash), "hash_mod {value}");
    }
}

#[test]
fn range_boundaries() {
    let r = Range::new(vec![100, 1000]).expect("ascending");
    for (value, index) in [
        (-5, 0),
        (99, 0),
        (100, 1),
        (999, 1),
        (1000, 2),
        (i64::MIN, 0),
        (i64::MAX, 2),
    ] {
        assert_eq!(r.place(&Int(value)), Some(index), "{value}");
    }
    assert_eq!(r.place(&s("100")), None);
    assert!(Range::new(vec![5, 5]).is_none());
}

#[test]
fn range_conditions_prune() {
    let r = Range::new(vec![100, 1000]).expect("ascending");
    assert_eq!(r.place_range(10, 99), Targets::Indexes(vec![0]));
    assert_eq!(r.place_range(99, 100), Targets::Indexes(vec![0, 1]));
    assert_eq!(r.place_range(500, i64::MAX), Targets::Indexes(vec![1, 2]));
    assert_eq!(
        r.place_range(i64::MIN, i64::MAX),
        Targets::Indexes(vec![0, 1, 2])
    );
}

#[test]
fn mod_prunes_short_spans_only() {
    let m = Mod::new(4).expect("n > 0");
    assert_eq!(m.place_range(10, 12), Targets::Indexes(vec![0, 2, 3]));
    assert_eq!(m.place_range(-1, 0), Targets::Indexes(vec![0, 3]));
    assert_eq!(m.place_range(10, 13), Targets::All);
    assert_eq!(m.place_range(i64::MIN, 100), Targets::All);
    assert_eq!(
        m.place_range(i64::MAX - 1, i64::MAX),
        Targets::Indexes(vec![2, 3])
    );
}

#[test]
fn hashes_scatter_ranges() {
    assert_eq!(HashMod::new(4).expect("n").place_range(1, 1), Targets::All);
    assert_eq!(ring(&LOGS).place_range(1, 2), Targets::All);
}

#[test]
fn consistent_hash_vectors() {
    let r = ring(&LOGS);
    let cases = [
        (Int(0), 1),
        (Int(1), 2),
        (Int(2), 2),
        (Int(42), 1),
        (Int(-7), 1),
        (Int(10086), 0),
        (s("alice"), 2),
        (s("张三"), 1),
        (Int(123_456_789), 1),
    ];
    for (value, index) in cases {
        assert_eq!(r.place(&value), Some(index), "{value}");
    }
}

#[test]
fn consistent_hash_distribution_and_growth() {
    let three = ring(&LOGS);
    let four = ring(&["ds_0.t_log", "ds_1.t_log", "ds_2.t_log", "ds_3.t_log"]);
    let mut counts = [0usize; 3];
    let mut moved = 0;
    for key in 0..100_000 {
        let before = three.place(&Int(key)).expect("total");
        let after = four.place(&Int(key)).expect("total");
        counts[before] += 1;
        if before != after {
            moved += 1;
            assert_eq!(after, 3, "key {key} moved between old candidates");
        }
    }
    assert_eq!(counts, [35622, 33913, 30465]);
    assert_eq!(moved, 25114);
}

#[test]
fn definitions_check_properties() {
    let props = |pairs: &[(&str, toml::Value)]| -> Properties {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let run = |kind: Option<&str>, p: &Properties| {
        let mut problems = Vec::new();
        let d = define(kind, p, "schemas.s.algorithms.a", &mut problems);
        (d.is_some(), problems)
    };
    let ints = |v: &[i64]| toml::Value::Array(v.iter().map(|&i| toml::Value::Integer(i)).collect());

    assert_eq!(run(Some("mod"), &props(&[])), (true, vec![]));
    let (ok, p) = run(Some("mod"), &props(&[("boundaries", ints(&[1]))]));
    assert!(!ok);
    assert_eq!(p, ["schemas.s.algorithms.a.boundaries: unknown property for type `mod`; `mod` takes no properties"]);
    let (ok, p) = run(
        Some("hash_mod"),
        &props(&[("virtual_nodes", toml::Value::Integer(3))]),
    );
    assert!(
        !ok && p[0].contains("`hash_mod` takes no properties"),
        "{p:?}"
    );

    let (ok, p) = run(None, &props(&[]));
    assert!(!ok);
    assert_eq!(p, ["schemas.s.algorithms.a.type: missing; give one of mod, hash_mod, range, consistent_hash"]);
    let (_, p) = run(Some("modulo"), &props(&[]));
    assert_eq!(p, ["schemas.s.algorithms.a.type: unknown algorithm type `modulo`; known: mod, hash_mod, range, consistent_hash"]);

    let (ok, p) = run(Some("range"), &props(&[]));
    assert!(
        !ok && p[0].starts_with("schemas.s.algorithms.a.boundaries: missing"),
        "{p:?}"
    );
    let (ok, p) = run(Some("range"), &props(&[("boundaries", ints(&[10, 5]))]));
    assert!(!ok);
    assert_eq!(
        p,
        ["schemas.s.algorithms.a.boundaries: must be strictly ascending, but 5 comes after 10"]
    );
    let (_, p) = run(Some("range"), &props(&[("boundaries", ints(&[10, 10]))]));
    assert!(p[0].contains("strictly ascending"), "{p:?}");
    let (_, p) = run(
        Some("range"),
        &props(&[(
            "boundaries",
            toml::Value::Array(vec![toml::Value::String("1".into())]),
        )]),
    );
    assert!(
        p[0].contains("item 0 must be an integer, found the string \"1\""),
        "{p:?}"
    );
    let (_, p) = run(
        Some("range"),
        &props(&[("boundaries", toml::Value::Integer(1))]),
    );
    assert!(p[0].contains("must be a list of integers"), "{p:?}");
    let (_, p) = run(
        Some("range"),
        &props(&[
            ("boundaries", ints(&[1])),
            ("virtual_nodes", toml::Value::Integer(1)),
        ]),
    );
    assert_eq!(p, ["schemas.s.algorithms.a.virtual_nodes: unknown property for type `range`; `range` takes: boundaries"]);

    assert!(run(Some("consistent_hash"), &props(&[])).0);
    for bad in [0, 10_001, -1] {
        let (ok, p) = run(
            Some("consistent_hash"),
            &props(&[("virtual_nodes", toml::Value::Integer(bad))]),
        );
        assert!(
            !ok && p[0].contains("give 1..=10000 (default 160)"),
            "{p:?}"
        );
    }
    assert!(
        run(
            Some("consistent_hash"),
            &props(&[("virtual_nodes", toml::Value::Integer(10_000))])
        )
        .0
    );
    let (_, p) = run(
        Some("consistent_hash"),
        &props(&[("virtual_nodes", toml::Value::Float(1.5))]),
    );
    assert!(
        p[0].contains("must be an integer, found the float 1.5"),
        "{p:?}"
    );
}

#[test]
fn range_binds_only_to_matching_candidate_count() {
    let mut problems = Vec::new();
    let p: Properties = [(
        "boundaries".to_string(),
        toml::Value::Array(vec![toml::Value::Integer(100)]),
    )]
    .into();
    let d = define(Some("range"), &p, "x", &mut problems).expect("valid");
    assert!(d.bind(&names(&["a", "b"])).is_ok());
    let e = d.bind(&names(&["a", "b", "c"])).expect_err("3 candidates");
    assert_eq!(e, "`range` has 1 boundaries, but this level has 3 candidates (a, b, c); it needs 2 boundaries");
}

#[test]
fn default_virtual_nodes_is_160() {
    let mut problems = Vec::new();
    let d = define(
        Some("consistent_hash"),
        &Properties::new(),
        "x",
        &mut problems,
    )
    .expect("valid");
    let bound = d.bind(&names(&LOGS)).expect("bind");
    for key in [0, 1, 2, 42, -7, 10086] {
        assert_eq!(bound.place(&Int(key)), ring(&LOGS).place(&Int(key)));
    }
}

fn any_value() -> impl Strategy<Value = ShardingValue> {
    prop_oneof![
        any::<i64>().prop_map(Int),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Str),
    ]
}

proptest! {
    #[test]
    fn algorithms_are_total_and_deterministic(value in any_value(), n in 1usize..40) {
        let candidates: Vec<String> = (0..n).map(|i| format!("ds_{i}.t")).collect();
        let ring = ConsistentHash::new(&candidates, 16).expect("n > 0");
        let hash = HashMod::new(n).expect("n > 0");
        let m = Mod::new(n).expect("n > 0");
        for algorithm in [&ring as &dyn ShardingAlgorithm, &hash] {
            let first = algorithm.place(&value).expect("hashes place every value");
            prop_assert!(first < n);
            prop_assert_eq!(algorithm.place(&value), Some(first));
        }
        match &value {
            Int(i) => {
                prop_assert_eq!(m.place(&value), Some(i.rem_euclid(n as i64) as usize));
            }
            Str(_) => prop_assert_eq!(m.place(&value), None),
        }
    }

    #[test]
    fn range_pieces_cover_the_key_space_without_overlap(
        mut boundaries in proptest::collection::btree_set(any::<i64>(), 0..8),
        value in any::<i64>(),
    ) {
        let boundaries: Vec<i64> = std::mem::take(&mut boundaries).into_iter().collect();
        let r = Range::new(boundaries.clone()).expect("a set is strictly ascending");
        let index = r.place(&Int(value)).expect("integers are placed");
        // Exactly one piece holds the value: [b[i-1], b[i]).
        let low = if index == 0 { i64::MIN } else { boundaries[index - 1] };
        let holds = |i: usize| {
            let lo = if i == 0 { i64::MIN } else { boundaries[i - 1] };
            let hi_ok = i == boundaries.len() || value < boundaries[i];
            lo <= value && hi_ok
        };
        prop_assert!(low <= value);
        prop_assert_eq!((0..=boundaries.len()).filter(|&i| holds(i)).collect::<Vec<_>>(), vec![index]);
    }

    #[test]
    fn pruned_ranges_hold_every_value_in_them(
        boundaries in proptest::collection::btree_set(-1000i64..1000, 0..6),
        low in -1200i64..1200,
        width in 0i64..50,
        n in 1usize..8,
    ) {
        let high = low + width;
        let r = Range::new(boundaries.into_iter().collect()).expect("ascending");
        let m = Mod::new(n).expect("n > 0");
        // Range prunes exactly; mod exactly when the span is shorter than n.
        for (algorithm, exact_expected) in [(&r as &dyn ShardingAlgorithm, true), (&m, width + 1 < n as i64)] {
            let reached = match algorithm.place_range(low, high) {
                Targets::All => (0..algorithm.candidate_count()).collect(),
                Targets::Indexes(v) => v,
            };
            let mut exact: Vec<usize> = (low..=high).filter_map(|v| algorithm.place(&Int(v))).collect();
            exact.sort_unstable();
            exact.dedup();
            for i in &exact {
                prop_assert!(reached.contains(i));
            }
            if exact_expected {
                prop_assert_eq!(&reached, &exact);
            }
        }
    }

    #[test]
    fn growing_a_ring_moves_keys_only_to_the_new_candidate(n in 2usize..9, seed in any::<u32>()) {
        let old: Vec<String> = (0..n).map(|i| format!("ds_{i}.t_{seed}")).collect();
        let mut new = old.clone();
        new.push(format!("ds_{n}.t_{seed}"));
        let (before, after) = (ConsistentHash::new(&old, 160).expect("n"), ConsistentHash::new(&new, 160).expect("n"));
        let keys = 4000;
        let mut moved = 0;
        for key in 0..keys {
            let (a, b) = (before.place(&Int(key)), after.place(&Int(key)));
            if a != b {
                prop_assert_eq!(b, Some(n));
                moved += 1;
            }
        }
        // About 1/(n+1) of the keys move: allow a wide margin for 160 points.
        let expected = keys as f64 / (n + 1) as f64;
        prop_assert!((moved as f64) > expected * 0.5 && (moved as f64) < expected * 1.6, "moved {} expected ~{}", moved, expected);
    }
}
