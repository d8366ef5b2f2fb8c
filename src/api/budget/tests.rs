//! The in-flight budget: room taken, waited for, given back; its order and its wake-ups.

use super::*;

/// The tests' sizes, in KiB.
const UNIT: u64 = 1024;

#[tokio::test]
async fn charges_wait_for_room_then_answer_429_and_give_room_back_when_dropped() {
    let budget = InflightBudget::new(10 * UNIT, 100, Duration::from_millis(50));
    let mut first = Charge::none();
    budget.grow(&mut first, 6 * UNIT).await.unwrap();
    assert_eq!(budget.available(), 4 * UNIT);
    let mut second = Charge::none();
    let busy = budget.grow(&mut second, 6 * UNIT).await.unwrap_err();
    assert_eq!(busy.status(), 429);
    assert!(budget.try_grow(&mut second, 6 * UNIT).is_err());
    first.shrink_to(2 * UNIT);
    assert_eq!(budget.available(), 8 * UNIT);
    budget.try_grow(&mut second, 6 * UNIT).unwrap();
    drop(first);
    drop(second);
    assert_eq!(budget.available(), 10 * UNIT);
}

#[tokio::test]
async fn a_small_charge_takes_the_room_left_while_a_large_one_waits() {
    let budget = Arc::new(InflightBudget::new(10 * UNIT, 100, Duration::from_secs(5)));
    let mut held = Charge::none();
    budget.grow(&mut held, 9 * UNIT).await.unwrap();
    let waiting = {
        let budget = budget.clone();
        tokio::spawn(async move {
            let mut large = Charge::none();
            budget.grow(&mut large, 8 * UNIT).await.map(|()| large)
        })
    };
    tokio::task::yield_now().await;
    assert_eq!(
        budget.room.waiting.load(Ordering::SeqCst),
        1,
        "the large one waits"
    );
    // Room for the small one, not yet for the large one: in a queue, the large one would
    // take these 5 KiB and the small one would wait behind it.
    held.shrink_to(4 * UNIT);
    let mut small = Charge::none();
    let small_wait = Duration::from_millis(50);
    let granted = tokio::time::timeout(small_wait, budget.grow(&mut small, 2 * UNIT)).await;
    assert!(
        matches!(granted, Ok(Ok(()))),
        "the small charge waited behind the large one"
    );
    // The large one looks again (woken by the room given back) and waits on: 4 KiB is free.
    tokio::task::yield_now().await;
    assert_eq!(budget.available(), 4 * UNIT);
    assert!(!waiting.is_finished());
    // Room for the large one once the rest comes back: it is woken by that, well within its
    // own wait of 5 s.
    drop(held);
    drop(small);
    let large = tokio::time::timeout(Duration::from_secs(1), waiting).await;
    let large = large.expect("the large charge was not woken").unwrap().unwrap();
    assert_eq!(budget.available(), 2 * UNIT);
    drop(large);
    assert_eq!(budget.available(), 10 * UNIT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn charges_grown_and_given_back_at_once_on_many_threads_leave_the_budget_whole() {
    let budget = Arc::new(InflightBudget::new(64 * UNIT, 100, Duration::from_millis(20)));
    let tasks: Vec<_> = (0..16u64)
        .map(|task| {
            let budget = budget.clone();
            tokio::spawn(async move {
                for step in 0..200u64 {
                    let mut charge = Charge::none();
                    // Sizes from 1 to 40 KiB, in two steps, some shrunk before they are dropped.
                    let size = (task * 7 + step * 13) % 40 + 1;
                    // A 429 (no room within the wait) is an answer too.
                    let _ = budget.grow(&mut charge, size.div_ceil(2) * UNIT).await;
                    if budget.try_grow(&mut charge, size / 2 * UNIT).is_ok() && step % 3 == 0 {
                        charge.shrink_to(UNIT);
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(budget.available(), 64 * UNIT, "units were lost or made");
    assert_eq!(budget.room.waiting.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn room_given_back_wakes_every_waiter_and_the_one_it_fits_takes_it() {
    let budget = Arc::new(InflightBudget::new(10 * UNIT, 100, Duration::from_secs(5)));
    let mut held = Charge::none();
    budget.grow(&mut held, 9 * UNIT).await.unwrap();
    let wait_for = |units: u64| {
        let budget = budget.clone();
        tokio::spawn(async move {
            let mut charge = Charge::none();
            budget.grow(&mut charge, units * UNIT).await.map(|()| charge)
        })
    };
    // The large one first: woken alone (a queue, or a signal to one waiter), it would not fit
    // and the small one would sleep on.
    let large = wait_for(8);
    tokio::task::yield_now().await;
    let small = wait_for(3);
    tokio::task::yield_now().await;
    assert_eq!(budget.room.waiting.load(Ordering::SeqCst), 2);
    held.shrink_to(6 * UNIT);
    let small = tokio::time::timeout(Duration::from_secs(1), small).await;
    let small = small.expect("the small waiter was not woken").unwrap().unwrap();
    assert_eq!(budget.available(), UNIT);
    assert!(!large.is_finished());
    drop((held, small));
    let large = tokio::time::timeout(Duration::from_secs(1), large).await;
    drop(large.expect("the large waiter was not woken").unwrap().unwrap());
    assert_eq!(budget.available(), 10 * UNIT);
    assert_eq!(budget.room.waiting.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_charge_larger_than_the_whole_budget_is_413_at_once() {
    let budget = InflightBudget::new(10 * UNIT, 100, Duration::from_secs(60));
    let mut charge = Charge::none();
    budget.grow(&mut charge, 4 * UNIT).await.unwrap();
    let error = budget.grow(&mut charge, 7 * UNIT).await.unwrap_err();
    assert_eq!(error.status(), 413);
    let message = error.to_string();
    assert!(message.contains("AML_SCORER_MAX_INFLIGHT_BYTES"), "{message}");
    assert!(message.contains("AML_SCORER_MAX_BODY_BYTES"), "{message}");
}
