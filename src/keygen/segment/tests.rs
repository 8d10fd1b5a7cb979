use super::*;
use std::sync::Arc;

fn buffer(step: i64) -> SegmentBuffer {
    SegmentBuffer::new(SegmentSpec {
        sequence: "shop.t_order".into(),
        data_source: "seq_ds".into(),
        start: 1,
        step,
    })
}

fn take(buffer: &SegmentBuffer, n: usize) -> Result<Vec<i64>, KeygenError> {
    let mut out = Vec::new();
    buffer.take(n, &mut out).map(|()| out)
}

/// Whether a claim is wanted (without waiting).
fn wanted(buffer: &SegmentBuffer) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_millis(10), buffer.claim_wanted())
            .await
            .is_ok()
    })
}

#[test]
fn the_first_claim_is_wanted_at_once() {
    let b = buffer(10);
    assert!(wanted(&b));
    assert!(!wanted(&b), "asked once");
    assert_eq!(b.status().current, None);
}

#[test]
fn ids_are_dense_and_the_next_segment_is_claimed_at_a_tenth_left() {
    let b = buffer(100);
    assert!(wanted(&b));
    b.supply(1..101);
    assert_eq!(take(&b, 89).expect("ids"), (1..90).collect::<Vec<_>>());
    assert!(!wanted(&b), "11 left: not yet");
    assert_eq!(take(&b, 1).expect("ids"), [90]);
    assert!(wanted(&b), "10 left: claim the next one");
    let status = b.status();
    assert_eq!(status.current, Some(1..101));
    assert_eq!(status.remaining, 10);
    assert!(status.claiming);
    b.supply(501..601);
    assert_eq!(b.status().next, Some(501..601));
    // One take across both segments, still increasing.
    let ids = take(&b, 12).expect("ids");
    assert_eq!(ids[..10], (91..101).collect::<Vec<_>>()[..]);
    assert_eq!(ids[10..], [501, 502]);
    assert_eq!(b.status().current, Some(501..601));
    assert!(!wanted(&b), "98 left");
}

#[test]
fn buffered_ids_go_on_when_a_claim_fails_and_then_the_insert_fails() {
    let b = buffer(10);
    assert!(wanted(&b));
    b.supply(1..11);
    assert_eq!(take(&b, 9).expect("ids").len(), 9);
    assert!(wanted(&b));
    b.fail("data source 'seq_ds' is unreachable: refused".into());
    assert_eq!(take(&b, 1).expect("the last buffered id"), [10]);
    // Used up: asks again, and this waiter sees that claim fail.
    let b = Arc::new(b);
    let waiter = {
        let b = b.clone();
        std::thread::spawn(move || take(&b, 1))
    };
    assert!(wanted(&b));
    std::thread::sleep(Duration::from_millis(50));
    b.fail("data source 'seq_ds' is unreachable: refused".into());
    let error = waiter.join().expect("thread").expect_err("no segment");
    let text = error.to_string();
    assert!(text.contains("'shop.t_order'"), "{text}");
    assert!(text.contains("data source 'seq_ds'"), "{text}");
    assert!(text.contains("unreachable"), "{text}");
    assert_eq!(crate::error::Error::from(error).code, 1105);
    assert!(b.status().failure.is_some());
}

#[test]
fn an_insert_waits_for_the_claim_under_way() {
    let b = Arc::new(buffer(5));
    assert!(wanted(&b));
    let waiter = {
        let b = b.clone();
        std::thread::spawn(move || take(&b, 7))
    };
    std::thread::sleep(Duration::from_millis(20));
    b.supply(1..6);
    // The waiter took all five and asks for more.
    assert!(wanted(&b));
    b.supply(11..16);
    assert_eq!(
        waiter.join().expect("thread").expect("ids"),
        [1, 2, 3, 4, 5, 11, 12]
    );
    assert_eq!(b.status().remaining, 3);
}

#[test]
fn many_threads_never_share_an_id() {
    let b = Arc::new(buffer(1000));
    assert!(wanted(&b));
    b.supply(0..1_000_000);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for _ in 0..1000 {
                    let ids = take(&b, 3).expect("ids");
                    mine.extend(ids);
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        let mine = t.join().expect("thread");
        assert!(mine.windows(2).all(|w| w[0] < w[1]));
        all.extend(mine);
    }
    all.sort_unstable();
    assert_eq!(all, (0..12_000).collect::<Vec<_>>());
}
