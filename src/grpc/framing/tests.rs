use proptest::prelude::*;

use super::*;

/// A body of `messages` (compressed flag, bytes), framed as gRPC frames them.
fn body_of(messages: &[(bool, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (compressed, bytes) in messages {
        body.extend_from_slice(&prefix(*compressed, bytes.len() as u32));
        body.extend_from_slice(bytes);
    }
    body
}

/// The body as the framing hands it on (a compressed message with its prefix put back), and the
/// compressed messages it picked out, `body` arriving cut at `cuts`.
fn through_framing(body: &[u8], cuts: &[usize], limit: usize) -> (Vec<u8>, Vec<Vec<u8>>, Option<Bytes>) {
    let mut framing = Framing::new(limit);
    let (mut handed_on, mut compressed) = (Vec::new(), Vec::new());
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (body.len() + 1)).collect();
    cuts.extend([0, body.len()]);
    cuts.sort_unstable();
    for pair in cuts.windows(2) {
        let mut input = Bytes::copy_from_slice(&body[pair[0]..pair[1]]);
        while let Some(piece) = framing.next(&mut input) {
            match piece {
                Piece::AsSent(bytes) => handed_on.extend_from_slice(&bytes),
                Piece::Compressed(message) => {
                    handed_on.extend_from_slice(&prefix(true, message.len() as u32));
                    handed_on.extend_from_slice(&message);
                    compressed.push(message.to_vec());
                }
            }
        }
        assert!(input.is_empty(), "every input is taken");
    }
    (handed_on, compressed, framing.finish())
}

fn messages() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    proptest::collection::vec(
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200)),
        0..6,
    )
}

proptest! {
    #[test]
    fn messages_split_anywhere_are_picked_out_whole_and_the_rest_handed_on_as_sent(
        messages in messages(),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let body = body_of(&messages);
        let (handed_on, compressed, rest) = through_framing(&body, &cuts, 1 << 20);
        prop_assert_eq!(handed_on, body);
        let expected: Vec<Vec<u8>> = messages
            .iter()
            .filter(|(flag, _)| *flag)
            .map(|(_, bytes)| bytes.clone())
            .collect();
        prop_assert_eq!(compressed, expected);
        prop_assert_eq!(rest, None);
    }

    #[test]
    fn a_body_cut_short_is_handed_on_as_sent_at_its_end(
        messages in messages(),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        end in any::<usize>(),
    ) {
        let body = body_of(&messages);
        let cut = &body[..end % (body.len() + 1)];
        let (mut handed_on, _, rest) = through_framing(cut, &cuts, 1 << 20);
        handed_on.extend_from_slice(&rest.unwrap_or_default());
        prop_assert_eq!(handed_on, cut);
    }

    #[test]
    fn compressed_messages_over_the_limit_are_handed_on_for_tonic_to_refuse(
        messages in messages(),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
    ) {
        let body = body_of(&messages);
        let (handed_on, compressed, _) = through_framing(&body, &cuts, 50);
        prop_assert_eq!(handed_on, body);
        let expected: Vec<Vec<u8>> = messages
            .iter()
            .filter(|(flag, bytes)| *flag && bytes.len() <= 50)
            .map(|(_, bytes)| bytes.clone())
            .collect();
        prop_assert_eq!(compressed, expected);
    }
}

#[test]
fn one_frame_of_several_messages_gives_each_in_turn_and_a_whole_message_is_not_copied() {
    let body = Bytes::from(body_of(&[
        (false, b"plain".to_vec()),
        (true, b"packed".to_vec()),
        (false, Vec::new()),
        (true, Vec::new()),
    ]));
    let mut input = body.clone();
    let mut framing = Framing::new(100);
    let pieces: Vec<Piece> = std::iter::from_fn(|| framing.next(&mut input)).collect();
    assert_eq!(
        pieces,
        [
            Piece::AsSent(Bytes::from_static(&[0, 0, 0, 0, 5])),
            Piece::AsSent(Bytes::from_static(b"plain")),
            Piece::Compressed(Bytes::from_static(b"packed")),
            Piece::AsSent(Bytes::from_static(&[0, 0, 0, 0, 0])),
            Piece::Compressed(Bytes::new()),
        ]
    );
    let Piece::Compressed(packed) = &pieces[2] else {
        unreachable!()
    };
    assert_eq!(packed.as_ptr(), body[15..].as_ptr(), "a slice of the frame");
}

#[test]
fn a_flag_neither_0_nor_1_is_handed_on_for_tonic_to_refuse() {
    let mut input = Bytes::from_static(&[2, 0, 0, 0, 1, 9]);
    let mut framing = Framing::new(100);
    assert_eq!(
        framing.next(&mut input),
        Some(Piece::AsSent(Bytes::from_static(&[2, 0, 0, 0, 1])))
    );
    assert_eq!(
        framing.next(&mut input),
        Some(Piece::AsSent(Bytes::from_static(&[9])))
    );
}
