//! Property and tamper tests of the SSE object format (`gatehouse_kms::envelope`).

use gatehouse_kms::envelope::*;
use proptest::prelude::*;

const KEY: [u8; 32] = [0x42; 32];
const CS: u32 = MIN_CHUNK_SIZE;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn seal_with(chunk_size: u32, part: u32, plain: &[u8], feeds: &[usize]) -> (Vec<u8>, Header) {
    let mut s = Sealer::with_options(&KEY, chunk_size, part).expect("sealer");
    let header = s.header();
    let mut out = Vec::new();
    let mut rest = plain;
    let mut i = 0;
    while !rest.is_empty() {
        let n = feeds
            .get(i % feeds.len().max(1))
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        s.update(&rest[..n], &mut out).expect("update");
        rest = &rest[n..];
        i += 1;
    }
    s.finish(&mut out).expect("finish");
    (out, header)
}

fn open_with(
    part: u32,
    sealed: &[u8],
    feed: usize,
    expected: Option<u64>,
) -> Result<Vec<u8>, EnvelopeError> {
    let mut o = Opener::for_part(&KEY, part, expected)?;
    let mut out = Vec::new();
    for c in sealed.chunks(feed.max(1)) {
        o.update(c, &mut out)?;
    }
    o.finish(&mut out)?;
    Ok(out)
}

/// Lengths around chunk boundaries.
fn len_strategy() -> impl Strategy<Value = usize> {
    let cs = CS as usize;
    prop_oneof![
        0usize..8,
        (0usize..6, 0usize..3).prop_map(move |(k, d)| (k * cs + d).saturating_sub(1)),
        0usize..(5 * cs + 7),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn round_trip_any_feed(len in len_strategy(), feeds in prop::collection::vec(1usize..3000, 1..4),
                           open_feed in 1usize..4000, part in 0u32..3, seed in any::<u8>()) {
        let plain = data(len, seed);
        let (sealed, _) = seal_with(CS, part, &plain, &feeds);
        prop_assert_eq!(sealed.len() as u64, sealed_len(len as u64, CS));
        prop_assert_eq!(plain_len(sealed.len() as u64, CS), Some(len as u64));
        prop_assert_eq!(&open_with(part, &sealed, open_feed, None).expect("open"), &plain);
        prop_assert_eq!(&open_with(part, &sealed, open_feed, Some(len as u64)).expect("open known"), &plain);
        // Another part number (a swapped part) never opens.
        prop_assert!(open_with(part + 1, &sealed, open_feed, None).is_err());
    }

    #[test]
    fn ranges(len in 1usize..(4 * CS as usize + 9), a in any::<u64>(), b in any::<u64>(),
              feed in 1usize..3000, seed in any::<u8>()) {
        let plain = data(len, seed);
        let (sealed, _) = seal_with(CS, 0, &plain, &[]);
        let (x, y) = ((a % len as u64), (b % len as u64));
        let (start, end) = (x.min(y), x.max(y) + 1);
        let plan = plan_range(start..end, len as u64, CS).expect("plan");
        prop_assert!(plan.sealed.end <= sealed.len() as u64);
        let body = &sealed[plan.sealed.start as usize..plan.sealed.end as usize];
        let mut o = RangeOpener::new(&KEY, 0, &sealed[..HEADER_LEN], &plan).expect("range opener");
        let mut out = Vec::new();
        for c in body.chunks(feed) {
            o.update(c, &mut out).expect("update");
        }
        o.finish(&mut out).expect("finish");
        prop_assert_eq!(&out[..], &plain[start as usize..end as usize]);
        // Fewer bytes than planned: an error, never a short answer.
        if body.len() > 1 {
            prop_assert!(open_range(&KEY, 0, &sealed[..HEADER_LEN], &plan, &body[..body.len() - 1]).is_err());
        }
        // A flipped byte anywhere in the chunks read (whole chunks are opened straight into the output):
        // an error, never bytes.
        let mut bad = body.to_vec();
        let i = (b as usize) % bad.len();
        bad[i] ^= 0x40;
        prop_assert!(open_range(&KEY, 0, &sealed[..HEADER_LEN], &plan, &bad).is_err());
    }

    #[test]
    fn any_flipped_bit_fails(len in 0usize..(3 * CS as usize), pos in any::<prop::sample::Index>(),
                             bit in 0u8..8) {
        let plain = data(len, 1);
        let (mut sealed, _) = seal_with(CS, 0, &plain, &[]);
        let i = pos.index(sealed.len());
        sealed[i] ^= 1 << bit;
        prop_assert!(open_with(0, &sealed, 777, None).is_err());
        prop_assert!(open_with(0, &sealed, 777, Some(len as u64)).is_err());
    }

    #[test]
    fn any_truncation_or_extension_fails(len in 0usize..(4 * CS as usize), cut in any::<prop::sample::Index>(),
                                         extra in prop::collection::vec(any::<u8>(), 1..40)) {
        let plain = data(len, 2);
        let (sealed, _) = seal_with(CS, 0, &plain, &[]);
        let n = cut.index(sealed.len());
        prop_assert!(open_with(0, &sealed[..n], 500, None).is_err());
        prop_assert!(open_with(0, &sealed[..n], 500, Some(len as u64)).is_err());
        let mut longer = sealed.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(open_with(0, &longer, 500, None).is_err());
        prop_assert!(open_with(0, &longer, 500, Some(len as u64)).is_err());
    }

    #[test]
    fn multipart_round_trip_and_ranges(sizes in prop::collection::vec(0u64..(3 * CS as u64 + 5), 1..5),
                                       a in any::<u64>(), b in any::<u64>()) {
        let mut parts = Vec::new();
        let mut sealed = Vec::new();
        let mut plain = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let number = (i as u32) * 2 + 1; // part numbers need not be contiguous
            let p = data(size as usize, i as u8);
            let (s, _) = seal_with(CS, number, &p, &[]);
            sealed.extend_from_slice(&s);
            plain.extend_from_slice(&p);
            parts.push((number, size));
        }
        let layout = MultipartLayout::new(&parts, CS).expect("layout");
        prop_assert_eq!(layout.sealed_len(), sealed.len() as u64);
        prop_assert_eq!(&layout.open_all(&KEY, &sealed).expect("open all"), &plain);
        if !plain.is_empty() {
            let len = plain.len() as u64;
            let (x, y) = (a % len, b % len);
            let (start, end) = (x.min(y), x.max(y) + 1);
            let got = layout.open_range(&KEY, &sealed, start..end).expect("range");
            prop_assert_eq!(&got[..], &plain[start as usize..end as usize]);
        }
    }
}

/// Feeds the planned bytes of `sealed` to `RangeOpener::update_bytes` in pieces of `feeds` sizes (pieces at
/// an odd index are still held elsewhere, so they take the copying path); the plaintext handed out.
fn open_range_in_place(
    header: &[u8],
    plan: &RangePlan,
    sealed: &[u8],
    feeds: &[usize],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut o = RangeOpener::new(&KEY, 0, header, plan)?;
    let body = &sealed[plan.sealed.start as usize..plan.sealed.end as usize];
    let mut out = Vec::new();
    let mut held = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < body.len() {
        let n = feeds[i % feeds.len()].clamp(1, body.len() - at);
        let piece = bytes::Bytes::copy_from_slice(&body[at..at + n]);
        if i % 2 == 1 {
            held.push(piece.clone());
        }
        o.update_bytes(piece, &mut out)?;
        at += n;
        i += 1;
    }
    let mut tail = Vec::new();
    o.finish(&mut tail)?;
    let mut plain: Vec<u8> = out.iter().flat_map(|b| b.iter().copied()).collect();
    plain.extend_from_slice(&tail);
    // Handed-out slices never alias a buffer someone else still holds.
    drop(held);
    Ok(plain)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ranges_in_place(len in 1usize..(5 * CS as usize + 9), a in any::<u64>(), b in any::<u64>(),
                       feeds in prop::collection::vec(1usize..(3 * CS as usize), 1..4)) {
        let plain = data(len, 9);
        let (sealed, _) = seal_with(CS, 0, &plain, &[]);
        let l = len as u64;
        let (x, y) = (a % l, b % l);
        let (start, end) = (x.min(y), x.max(y) + 1);
        let plan = plan_range(start..end, l, CS).expect("plan");
        let got = open_range_in_place(&sealed[..HEADER_LEN], &plan, &sealed, &feeds).expect("open");
        prop_assert_eq!(&got[..], &plain[start as usize..end as usize]);
    }

    #[test]
    fn in_place_flipped_bit_fails(len in 1usize..(4 * CS as usize), pos in any::<prop::sample::Index>(),
                                  bit in 0u8..8, feeds in prop::collection::vec(1usize..(3 * CS as usize), 1..4)) {
        let plain = data(len, 4);
        let (mut sealed, _) = seal_with(CS, 0, &plain, &[]);
        let plan = plan_range(0..len as u64, len as u64, CS).expect("plan");
        let p = HEADER_LEN + pos.index(sealed.len() - HEADER_LEN);
        sealed[p] ^= 1 << bit;
        prop_assert!(open_range_in_place(&sealed[..HEADER_LEN], &plan, &sealed, &feeds).is_err());
    }
}

#[test]
fn in_place_refuses_extra_bytes() {
    let plain = data(3 * CS as usize, 1);
    let (sealed, _) = seal_with(CS, 0, &plain, &[]);
    let plan = plan_range(0..CS as u64, plain.len() as u64, CS).expect("plan");
    let mut o = RangeOpener::new(&KEY, 0, &sealed[..HEADER_LEN], &plan).expect("opener");
    let mut out = Vec::new();
    // Two chunks where the plan names one.
    let two = bytes::Bytes::copy_from_slice(
        &sealed[HEADER_LEN..HEADER_LEN + 2 * (CS as usize + TAG_LEN)],
    );
    assert_eq!(o.update_bytes(two, &mut out), Err(EnvelopeError::Length));
}

#[test]
fn reordered_chunks_fail() {
    let plain = data(4 * CS as usize, 3);
    let (sealed, _) = seal_with(CS, 0, &plain, &[]);
    let full = CS as usize + TAG_LEN;
    let mut swapped = sealed.clone();
    let (a, b) = (HEADER_LEN, HEADER_LEN + full);
    let first = sealed[a..a + full].to_vec();
    swapped[a..a + full].copy_from_slice(&sealed[b..b + full]);
    swapped[b..b + full].copy_from_slice(&first);
    assert_eq!(open_with(0, &swapped, 100, None), Err(EnvelopeError::Auth));
    // Dropping a whole middle chunk.
    let mut dropped = sealed[..a].to_vec();
    dropped.extend_from_slice(&sealed[b..]);
    assert!(open_with(0, &dropped, 100, None).is_err());
    // Cut exactly at a chunk boundary: the new last chunk lacks the final flag.
    assert_eq!(
        open_with(0, &sealed[..HEADER_LEN + 2 * full], 100, None),
        Err(EnvelopeError::Auth)
    );
    // A duplicated last chunk (extension by a valid-looking chunk).
    let mut dup = sealed.clone();
    dup.extend_from_slice(&sealed[sealed.len() - full..]);
    assert!(open_with(0, &dup, 100, None).is_err());
}

#[test]
fn swapped_parts_fail() {
    let (p1, _) = seal_with(CS, 1, &data(2000, 1), &[]);
    let (p2, _) = seal_with(CS, 2, &data(2000, 2), &[]);
    let layout = MultipartLayout::new(&[(1, 2000), (2, 2000)], CS).expect("layout");
    let mut good = p1.clone();
    good.extend_from_slice(&p2);
    layout.open_all(&KEY, &good).expect("in order");
    let mut swapped = p2.clone();
    swapped.extend_from_slice(&p1);
    assert_eq!(layout.open_all(&KEY, &swapped), Err(EnvelopeError::Auth));
    assert!(layout.open_range(&KEY, &swapped, 10..3000).is_err());
}

#[test]
fn wrong_header_fields_fail() {
    let plain = data(3000, 4);
    let (sealed, _) = seal_with(CS, 0, &plain, &[]);
    // Claiming another chunk size (still valid) must not decrypt.
    let mut other = sealed.clone();
    other[8..12].copy_from_slice(&(2 * CS).to_be_bytes());
    assert!(open_with(0, &other, 100, None).is_err());
    let mut magic = sealed.clone();
    magic[0] = b'X';
    assert_eq!(
        open_with(0, &magic, 100, None),
        Err(EnvelopeError::BadHeader)
    );
    assert!(Header::parse(&sealed[..HEADER_LEN - 1]).is_err());
}

#[test]
fn default_chunk_size_large_object() {
    let plain = data(3 * DEFAULT_CHUNK_SIZE as usize + 123, 9);
    let sealed = seal(&KEY, &plain).expect("seal");
    assert_eq!(open(&KEY, &sealed).expect("open"), plain);
    let plan = plan_range(70_000..190_000, plain.len() as u64, DEFAULT_CHUNK_SIZE).expect("plan");
    assert_eq!(plan.first_chunk, 1);
    let body = &sealed[plan.sealed.start as usize..plan.sealed.end as usize];
    assert_eq!(
        open_range(&KEY, 0, &sealed, &plan, body).expect("range"),
        &plain[70_000..190_000]
    );
    assert!(
        plan_range(
            0..plain.len() as u64 + 1,
            plain.len() as u64,
            DEFAULT_CHUNK_SIZE
        )
        .is_err()
    );
}
