use super::*;
use crate::backend::health::SlaveStatus;
use std::time::Duration;

/// An endpoint's probe answer: `w` writable primary, `r` replica of port
/// `of`, `x` down. Ports are 1, 2, 3 by index + 1.
fn answer(kind: char, of: u16, slave_pos: &str, binlog_pos: &str) -> ProbeAnswer {
    let replication = match kind {
        'r' => Replication::Replica(SlaveStatus {
            io_running: true,
            sql_running: true,
            master_host: "h".into(),
            master_port: of,
            seconds_behind: Some(0),
        }),
        _ => Replication::None,
    };
    ProbeAnswer {
        read_only: kind == 'r',
        server_id: 0,
        binlog_pos: GtidPos::parse(binlog_pos).unwrap(),
        slave_pos: GtidPos::parse(slave_pos).unwrap(),
        replication,
    }
}

fn views<'a>(answers: &'a [ProbeAnswer], up: &[bool], at: Instant) -> Vec<View<'a>> {
    answers
        .iter()
        .enumerate()
        .map(|(i, a)| View {
            host: "h",
            port: i as u16 + 1,
            up: up[i],
            answer: Some(a),
            answered_at: Some(at),
        })
        .collect()
}

#[test]
fn follows_a_promotion_and_never_moves_back() {
    let now = Instant::now();
    let mut t = Topology::new(3);
    // Each step: the three endpoints' kinds and health, then the writer.
    let steps: &[(&str, [bool; 3], Writer)] = &[
        ("wrr", [true; 3], Writer::One(0)),
        ("wrr", [false, true, true], Writer::None),
        ("wwr", [false, true, true], Writer::One(1)),
        // The old primary returns writable: ignored while 1 serves.
        ("wwr", [true, true, true], Writer::One(1)),
        // Then the new one dies: the returning one is all there is.
        ("wwr", [true, false, true], Writer::One(0)),
    ];
    for (i, (kinds, up, expected)) in steps.iter().enumerate() {
        let answers: Vec<ProbeAnswer> = kinds.chars().map(|k| answer(k, 1, "", "")).collect();
        t.choose_writer(&views(&answers, up, now));
        assert_eq!(&t.writer, expected, "step {i}: {kinds} {up:?}");
    }
}

#[test]
fn a_second_writable_endpoint_beside_the_primary_is_a_conflict() {
    let now = Instant::now();
    let mut t = Topology::new(3);
    let answers = [
        answer('w', 0, "", ""),
        answer('w', 0, "", ""),
        answer('r', 1, "", ""),
    ];
    assert!(t.choose_writer(&views(&answers, &[true; 3], now)).is_some());
    assert_eq!(t.writer, Writer::Conflict(vec![0, 1]));
    // Resolved once one of them is read-only again.
    let answers = [
        answer('w', 0, "", ""),
        answer('r', 1, "", ""),
        answer('r', 1, "", ""),
    ];
    t.choose_writer(&views(&answers, &[true; 3], now));
    assert_eq!(t.writer, Writer::One(0));
}

#[test]
fn two_new_claimants_go_to_the_one_the_replicas_follow() {
    let now = Instant::now();
    let mut t = Topology::new(4);
    let answers = [
        answer('r', 9, "", ""),
        answer('w', 0, "", ""),
        answer('w', 0, "", ""),
        answer('r', 3, "", ""),
    ];
    t.choose_writer(&views(&answers, &[true; 4], now));
    assert_eq!(t.writer, Writer::One(2));
}

#[test]
fn lag_is_zero_while_idle_grows_when_frozen_and_behind() {
    let t0 = Instant::now();
    let s = |secs: f64| t0 + Duration::from_secs_f64(secs);
    let mut t = Topology::new(2);
    let round = |t: &mut Topology, at: Instant, primary: &str, replica: &str, up0: bool| {
        let answers = [answer('w', 0, "", primary), answer('r', 1, replica, "")];
        let mut v = views(&answers, &[up0, true], at);
        v[0].answered_at = Some(at);
        t.choose_writer(&v);
        t.sample_writer(&v);
        t.lag(&v, 1, at).unwrap()
    };
    // Idle primary, caught-up replica: no lag however long it stays idle.
    assert!(round(&mut t, s(0.0), "0-1-5", "0-1-5", true) < 0.01);
    assert!(round(&mut t, s(10.0), "0-1-5", "0-1-5", true) < 0.01);
    // The primary moves on and the replica does not: behind since then.
    round(&mut t, s(11.0), "0-1-6", "0-1-5", true);
    let lag = round(&mut t, s(14.0), "0-1-7", "0-1-5", true);
    assert!((lag - 3.0).abs() < 0.01, "{lag}");
    // Caught up again.
    assert!(round(&mut t, s(15.0), "0-1-7", "0-1-7", true) < 0.01);
}

#[test]
fn a_frozen_primary_is_not_zero_lag() {
    let t0 = Instant::now();
    let mut t = Topology::new(2);
    let answers = [answer('w', 0, "", "0-1-5"), answer('r', 1, "0-1-5", "")];
    let v = views(&answers, &[true, true], t0);
    t.choose_writer(&v);
    t.sample_writer(&v);
    // No new primary answer for 7 s (its probes hang), the replica still answers.
    let later = t0 + Duration::from_secs(7);
    let lag = t.lag(&v, 1, later).unwrap();
    assert!(lag >= 7.0, "{lag}");
}

#[test]
fn eligibility_out_at_once_back_after_two_checks_within_half() {
    let t0 = Instant::now();
    let mut t = Topology::new(2);
    let mut state = (false, 0);
    // (seconds, replica position, expected eligible): limit 4 s, primary at 0-1-9 from t=0.
    let steps: &[(f64, &str, bool)] = &[
        (0.1, "0-1-9", false),
        (0.2, "0-1-9", true),
        (3.0, "0-1-8", true),  // 3 s behind: within the limit
        (4.5, "0-1-8", false), // 4.5 s: out
        (5.0, "0-1-9", false), // caught up: one check
        (5.1, "0-1-9", true),  // two: back
    ];
    let primary = answer('w', 0, "", "0-1-9");
    for (secs, pos, expected) in steps {
        let at = t0 + Duration::from_secs_f64(*secs);
        let replica = answer('r', 1, pos, "");
        let answers = [primary.clone(), replica];
        let mut v = views(&answers, &[true, true], at);
        v[0].answered_at = Some(if *pos == "0-1-8" { t0 } else { at });
        t.choose_writer(&v);
        if *secs < 0.15 {
            // The primary was at 0-1-9 since t0.
            let first = views(&answers, &[true, true], t0);
            t.sample_writer(&first);
        }
        t.sample_writer(&v);
        let e = t.eligibility(&v, 1, state, 4.0, at);
        state = (e.eligible, e.good_checks);
        assert_eq!(e.eligible, *expected, "at {secs}s with {pos}: {e:?}");
    }
}

#[test]
fn a_conflict_ends_when_one_claimant_is_left_returning_old_primaries_aside() {
    let now = Instant::now();
    let mut t = Topology::new(3);
    let set = |t: &mut Topology, kinds: &str, up: [bool; 3]| {
        let answers: Vec<ProbeAnswer> = kinds.chars().map(|k| answer(k, 2, "", "")).collect();
        t.choose_writer(&views(&answers, &up, now));
        t.writer.clone()
    };
    assert_eq!(set(&mut t, "wrr", [false, true, true]), Writer::None);
    assert_eq!(set(&mut t, "wwr", [false, true, true]), Writer::One(1));
    assert_eq!(set(&mut t, "wwr", [true, true, true]), Writer::One(1));
    assert_eq!(
        set(&mut t, "www", [true, true, true]),
        Writer::Conflict(vec![1, 2])
    );
    assert_eq!(set(&mut t, "wwr", [true, true, true]), Writer::One(1));
}
