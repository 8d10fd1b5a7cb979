use super::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// A clock that only moves when told to, or when the generator sleeps.
#[derive(Debug)]
struct FakeClock {
    now: AtomicU64,
    slept: AtomicU64,
}

impl FakeClock {
    fn at(ms_since_epoch: u64) -> Arc<FakeClock> {
        Arc::new(FakeClock {
            now: AtomicU64::new(SNOWFLAKE_EPOCH_MS + ms_since_epoch),
            slept: AtomicU64::new(0),
        })
    }

    fn set(&self, ms_since_epoch: u64) {
        self.now
            .store(SNOWFLAKE_EPOCH_MS + ms_since_epoch, Ordering::SeqCst);
    }

    fn ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst) - SNOWFLAKE_EPOCH_MS
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep_ms(&self, ms: u64) {
        self.slept.fetch_add(ms, Ordering::SeqCst);
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

/// A clock that never moves, even when slept on.
#[derive(Debug)]
struct FrozenClock;

impl Clock for FrozenClock {
    fn now_ms(&self) -> u64 {
        SNOWFLAKE_EPOCH_MS + 5
    }

    fn sleep_ms(&self, _: u64) {}
}

fn parts(id: i64) -> (u64, u64, u64) {
    let id = id as u64;
    (id >> 22, (id >> 12) & 0x3ff, id & 0xfff)
}

#[test]
fn bit_layout() {
    let clock = FakeClock::at(5);
    let generator = Snowflake::new(1023, clock.clone()).expect("worker id");
    let id = generator.next_id().expect("id");
    assert_eq!(id, (5 << 22) | (1023 << 12));
    assert_eq!(parts(id), (5, 1023, 0));
    assert_eq!(parts(generator.next_id().expect("id")), (5, 1023, 1));
    // The last representable millisecond keeps the sign bit 0.
    clock.set((1 << 41) - 1);
    let id = generator.next_id().expect("id");
    assert!(id > 0);
    assert_eq!(parts(id), ((1 << 41) - 1, 1023, 0));
}

#[test]
fn epoch_is_2024_01_01() {
    // 2024-01-01T00:00:00Z: 54 years incl. 13 leap days after 1970.
    assert_eq!(SNOWFLAKE_EPOCH_MS, (54 * 365 + 13) * 86_400 * 1000);
    let generator = Snowflake::new(0, FakeClock::at(0)).expect("worker id");
    assert_eq!(generator.next_id(), Ok(0));
    assert_eq!(generator.next_id(), Ok(1));
}

#[test]
fn sequence_overflow_waits_for_the_next_millisecond() {
    let clock = FakeClock::at(100);
    let generator = Snowflake::new(7, clock.clone()).expect("worker id");
    let mut last = 0;
    for n in 0..4096 {
        let id = generator.next_id().expect("id");
        assert!(id > last);
        assert_eq!(parts(id), (100, 7, n));
        last = id;
    }
    let id = generator.next_id().expect("id");
    assert!(id > last);
    assert_eq!(parts(id), (101, 7, 0));
    assert_eq!(clock.ms(), 101);
    assert_eq!(clock.slept.load(Ordering::SeqCst), 1);
}

#[test]
fn small_clock_step_back_is_waited_out() {
    let clock = FakeClock::at(1000);
    let generator = Snowflake::new(1, clock.clone()).expect("worker id");
    let before = generator.next_id().expect("id");
    clock.set(990);
    let after = generator.next_id().expect("id");
    assert!(after > before);
    assert_eq!(clock.slept.load(Ordering::SeqCst), 10);
    assert_eq!(parts(after), (1000, 1, 1));
}

#[test]
fn large_clock_step_back_is_refused_until_time_catches_up() {
    let clock = FakeClock::at(1000);
    let generator = Snowflake::new(1, clock.clone()).expect("worker id");
    let before = generator.next_id().expect("id");
    clock.set(989);
    assert_eq!(
        generator.next_id(),
        Err(KeygenError::ClockMovedBack { by_ms: 11 })
    );
    assert_eq!(clock.slept.load(Ordering::SeqCst), 0);
    clock.set(1001);
    let after = generator.next_id().expect("id");
    assert!(after > before);
    let error: Error = KeygenError::ClockMovedBack { by_ms: 11 }.into();
    assert_eq!(error.code, 1105);
    assert!(
        error.message.contains("moved back by 11 ms"),
        "{}",
        error.message
    );
}

#[test]
fn clock_out_of_range_or_stuck_is_an_error() {
    let clock = FakeClock::at(0);
    clock.now.store(SNOWFLAKE_EPOCH_MS - 1, Ordering::SeqCst);
    let generator = Snowflake::new(0, clock.clone()).expect("worker id");
    assert!(matches!(
        generator.next_id(),
        Err(KeygenError::ClockOutOfRange { .. })
    ));
    clock.set(1 << 41);
    assert!(matches!(
        generator.next_id(),
        Err(KeygenError::ClockOutOfRange { .. })
    ));

    let frozen = Snowflake::new(0, Arc::new(FrozenClock)).expect("worker id");
    for _ in 0..4096 {
        frozen.next_id().expect("id");
    }
    assert_eq!(frozen.next_id(), Err(KeygenError::ClockStuck));
}

#[test]
fn worker_id_is_checked() {
    assert!(Snowflake::new(1023, Arc::new(SystemClock)).is_ok());
    assert_eq!(
        Snowflake::new(1024, Arc::new(SystemClock)).err(),
        Some(KeygenError::WorkerIdOutOfRange(1024))
    );
}

#[test]
fn system_clock_ids_increase_across_threads() {
    let generator = Arc::new(Snowflake::new(3, Arc::new(SystemClock)).expect("worker id"));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let generator = generator.clone();
            std::thread::spawn(move || {
                (0..2000)
                    .map(|_| generator.next_id().expect("id"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for handle in handles {
        let ids = handle.join().expect("thread");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        all.extend(ids);
    }
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count);
}

#[test]
fn uuid_v7_text_from_the_injected_clock() {
    let clock = FakeClock::at(0);
    let generator = UuidV7::new(clock.clone());
    let a = generator.next_uuid();
    let b = generator.next_uuid();
    assert_eq!(a.len(), 36);
    assert!(a < b, "{a} {b}");
    let parsed = ::uuid::Uuid::parse_str(&a).expect("uuid text");
    assert_eq!(parsed.get_version_num(), 7);
    // The first 48 bits are the Unix milliseconds: 2024-01-01 = 0x018cc251f400.
    assert!(a.starts_with("018cc251-f400-7"), "{a}");
    clock.set(1);
    assert!(generator.next_uuid().starts_with("018cc251-f401-7"));
}

#[test]
fn key_generator_by_kind() {
    let generator = KeyGenerator::new(2, FakeClock::at(9)).expect("worker id");
    assert_eq!(
        generator.generate(KeyGeneratorKind::Snowflake),
        Ok(Some(GeneratedKey::Int((9 << 22) | (2 << 12))))
    );
    match generator.generate(KeyGeneratorKind::Uuid) {
        Ok(Some(GeneratedKey::Text(text))) => assert_eq!(text.len(), 36),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        KeyGeneratorKind::parse("uuid"),
        Some(KeyGeneratorKind::Uuid)
    );
    assert_eq!(generator.generate(KeyGeneratorKind::Segment), Ok(None));
    assert_eq!(KeyGeneratorKind::parse("Snowflake"), None);
    assert_eq!(
        KeyGeneratorKind::parse("segment"),
        Some(KeyGeneratorKind::Segment)
    );
    assert_eq!(KeyGeneratorKind::Snowflake.name(), "snowflake");
}

#[test]
fn leased_worker_id_stops_at_the_deadline() {
    let clock = FakeClock::at(1000);
    let lease = Arc::new(WorkerLease::new("ds_0"));
    let generator = Snowflake::with_worker(WorkerSource::Leased(lease.clone()), clock.clone());
    // Not leased yet: refused, naming the data source.
    match generator.next_id() {
        Err(e @ KeygenError::NoWorkerId { .. }) => {
            assert!(e.to_string().contains("data source 'ds_0'"), "{e}");
            assert!(e.to_string().contains("not leased yet"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    lease.grant(5, SNOWFLAKE_EPOCH_MS + 2000);
    let first = generator.next_id().expect("leased");
    assert_eq!(parts(first), (1000, 5, 0));
    // A failed renewal alone does not stop it; the deadline does.
    lease.failed("data source 'ds_0' is unreachable".into());
    clock.set(1999);
    assert!(generator.next_id().is_ok());
    clock.set(2000);
    match generator.next_id() {
        Err(e @ KeygenError::NoWorkerId { .. }) => {
            assert!(e.to_string().contains("unreachable"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let error: Error = generator.next_id().expect_err("expired").into();
    assert_eq!(error.code, 1105);
    // Renewed: it goes on, still increasing.
    lease.grant(5, SNOWFLAKE_EPOCH_MS + 9000);
    let after = generator.next_id().expect("renewed");
    assert!(after > first);
    lease.revoke();
    assert!(generator.next_id().is_err());
}

#[test]
fn a_new_worker_id_waits_for_the_next_millisecond() {
    let clock = FakeClock::at(500);
    let lease = Arc::new(WorkerLease::new("ds_0"));
    lease.grant(9, u64::MAX);
    let generator = Snowflake::with_worker(WorkerSource::Leased(lease.clone()), clock.clone());
    let before = generator.next_id().expect("id");
    // A lower id in the same millisecond would sort before `before`.
    lease.grant(3, u64::MAX);
    let after = generator.next_id().expect("id");
    assert!(after > before, "{after} > {before}");
    assert_eq!(parts(after), (501, 3, 0));
    assert_eq!(clock.slept.load(Ordering::SeqCst), 1);
}

#[test]
fn leased_clock_step_back_behaves_as_fixed() {
    let clock = FakeClock::at(1000);
    let lease = Arc::new(WorkerLease::new("ds_0"));
    lease.grant(1, u64::MAX);
    let generator = Snowflake::with_worker(WorkerSource::Leased(lease), clock.clone());
    let before = generator.next_id().expect("id");
    clock.set(992);
    let waited = generator.next_id().expect("waited out");
    assert!(waited > before);
    clock.set(900);
    assert_eq!(
        generator.next_id(),
        Err(KeygenError::ClockMovedBack { by_ms: 100 })
    );
}

#[test]
fn generate_many_serves_each_kind() {
    let mut keys = KeyGenerator::new(2, FakeClock::at(9)).expect("worker id");
    let buffer = keys.add_segment(SegmentSpec {
        sequence: "shop.t".into(),
        data_source: "ds_0".into(),
        start: 1,
        step: 100,
    });
    buffer.supply(1..101);
    let mut out = Vec::new();
    let segment = KeyRequest {
        kind: KeyGeneratorKind::Segment,
        sequence: Some("shop.t"),
        binary: false,
    };
    assert_eq!(keys.generate_many(&segment, 3, &mut out), Ok(true));
    assert_eq!(
        out,
        [1, 2, 3].map(GeneratedKey::Int).to_vec(),
        "dense from the segment's start"
    );
    let unknown = KeyRequest {
        sequence: Some("shop.other"),
        ..segment
    };
    assert_eq!(keys.generate_many(&unknown, 1, &mut out), Ok(false));
    let binary = KeyRequest {
        kind: KeyGeneratorKind::Uuid,
        sequence: None,
        binary: true,
    };
    out.clear();
    keys.generate_many(&binary, 2, &mut out).expect("uuids");
    match out.as_slice() {
        [GeneratedKey::Bytes(a), GeneratedKey::Bytes(b)] => {
            assert!(a < b);
            assert_eq!(::uuid::Uuid::from_bytes(*a).get_version_num(), 7);
        }
        other => panic!("{other:?}"),
    }
}
