//! Eisel and Lemire's conversion of `w * 10^q` (w < 2^64, exact) to the nearest f64 with one
//! or two 64x64-bit multiplications by a 128-bit approximation of 5^q, as in fast_float and the
//! standard library's own parser (`core::num::dec2flt::lemire`). It answers `None` in the rare
//! cases the approximation cannot decide, and for `q` outside the table; the caller then falls
//! back to `str::parse`.

/// The range of `q` the table covers: data written by people and by pandas stays well inside
/// it (the standard library's parser takes the rest).
const SMALLEST_POWER: i64 = -64;
const LARGEST_POWER: i64 = 64;

/// f64's layout.
const SIG_BITS: i32 = 52;
const INFINITE_POWER: i32 = 0x7FF;
/// Ties can be exact only where 5^q (or its inverse's error) allows it.
const MIN_EXPONENT_ROUND_TO_EVEN: i64 = -4;
const MAX_EXPONENT_ROUND_TO_EVEN: i64 = 23;

/// `w * 10^q` correctly rounded, for `w != 0`; `None` when undecided or out of the table.
#[inline]
pub(super) fn to_f64(q: i64, w: u64) -> Option<f64> {
    if w == 0 || !(SMALLEST_POWER..=LARGEST_POWER).contains(&q) {
        return None;
    }
    let lz = w.leading_zeros();
    let w = w << lz;
    let (lo, hi) = product(q, w, SIG_BITS as u32 + 3);
    // The 128-bit product may be one unit short of the truth; past the range where 5^q is
    // exact enough, that could change the rounding.
    if lo == u64::MAX && !(-27..=55).contains(&q) {
        return None;
    }
    let upperbit = (hi >> 63) as i32;
    let shift = upperbit + 64 - SIG_BITS - 3;
    let mut mantissa = hi >> shift;
    let mut power2 = power(q as i32) + upperbit - lz as i32 + 1023;
    if power2 <= 0 {
        // Subnormal (or zero): the table's range keeps values far from there.
        return None;
    }
    // Exactly halfway between two doubles with an even lower one: round down (to even).
    if lo <= 1
        && (MIN_EXPONENT_ROUND_TO_EVEN..=MAX_EXPONENT_ROUND_TO_EVEN).contains(&q)
        && mantissa & 3 == 1
        && (mantissa << shift) == hi
    {
        mantissa &= !1;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= (2 << SIG_BITS) {
        mantissa = 1 << SIG_BITS;
        power2 += 1;
    }
    mantissa &= !(1 << SIG_BITS);
    if power2 >= INFINITE_POWER {
        return None;
    }
    Some(f64::from_bits(mantissa | ((power2 as u64) << SIG_BITS)))
}

/// floor(log2(10^q)) + 63, for |q| <= 350.
#[inline]
fn power(q: i32) -> i32 {
    (q.wrapping_mul(152_170 + 65_536) >> 16) + 63
}

/// The top 128 bits of `w * 5^q` (as (low, high) words), computing the lower word only when
/// the bits that decide the rounding (`precision` of them) need it.
#[inline]
fn product(q: i64, w: u64, precision: u32) -> (u64, u64) {
    let mask = u64::MAX >> precision;
    let (high5, low5) = POWERS_OF_FIVE[(q - SMALLEST_POWER) as usize];
    let full = |a: u64, b: u64| {
        let r = u128::from(a) * u128::from(b);
        (r as u64, (r >> 64) as u64)
    };
    let (mut first_lo, mut first_hi) = full(w, high5);
    if first_hi & mask == mask {
        let (_, second_hi) = full(w, low5);
        first_lo = first_lo.wrapping_add(second_hi);
        if second_hi > first_lo {
            first_hi += 1;
        }
    }
    (first_lo, first_hi)
}

/// 5^q for q in [-64, 64], normalised to 128 bits (high word, low word): truncated for q >= 0,
/// rounded up for q < 0. Generated with Python's integers by fast_float's script
/// (`script/table_generation.py`), restricted to this range.
#[rustfmt::skip]
const POWERS_OF_FIVE: [(u64, u64); 129] = [
    (0xa87fea27a539e9a5, 0x3f2398d747b36224), // 5^-64
    (0xd29fe4b18e88640e, 0x8eec7f0d19a03aad), // 5^-63
    (0x83a3eeeef9153e89, 0x1953cf68300424ac), // 5^-62
    (0xa48ceaaab75a8e2b, 0x5fa8c3423c052dd7), // 5^-61
    (0xcdb02555653131b6, 0x3792f412cb06794d), // 5^-60
    (0x808e17555f3ebf11, 0xe2bbd88bbee40bd0), // 5^-59
    (0xa0b19d2ab70e6ed6, 0x5b6aceaeae9d0ec4), // 5^-58
    (0xc8de047564d20a8b, 0xf245825a5a445275), // 5^-57
    (0xfb158592be068d2e, 0xeed6e2f0f0d56712), // 5^-56
    (0x9ced737bb6c4183d, 0x55464dd69685606b), // 5^-55
    (0xc428d05aa4751e4c, 0xaa97e14c3c26b886), // 5^-54
    (0xf53304714d9265df, 0xd53dd99f4b3066a8), // 5^-53
    (0x993fe2c6d07b7fab, 0xe546a8038efe4029), // 5^-52
    (0xbf8fdb78849a5f96, 0xde98520472bdd033), // 5^-51
    (0xef73d256a5c0f77c, 0x963e66858f6d4440), // 5^-50
    (0x95a8637627989aad, 0xdde7001379a44aa8), // 5^-49
    (0xbb127c53b17ec159, 0x5560c018580d5d52), // 5^-48
    (0xe9d71b689dde71af, 0xaab8f01e6e10b4a6), // 5^-47
    (0x9226712162ab070d, 0xcab3961304ca70e8), // 5^-46
    (0xb6b00d69bb55c8d1, 0x3d607b97c5fd0d22), // 5^-45
    (0xe45c10c42a2b3b05, 0x8cb89a7db77c506a), // 5^-44
    (0x8eb98a7a9a5b04e3, 0x77f3608e92adb242), // 5^-43
    (0xb267ed1940f1c61c, 0x55f038b237591ed3), // 5^-42
    (0xdf01e85f912e37a3, 0x6b6c46dec52f6688), // 5^-41
    (0x8b61313bbabce2c6, 0x2323ac4b3b3da015), // 5^-40
    (0xae397d8aa96c1b77, 0xabec975e0a0d081a), // 5^-39
    (0xd9c7dced53c72255, 0x96e7bd358c904a21), // 5^-38
    (0x881cea14545c7575, 0x7e50d64177da2e54), // 5^-37
    (0xaa242499697392d2, 0xdde50bd1d5d0b9e9), // 5^-36
    (0xd4ad2dbfc3d07787, 0x955e4ec64b44e864), // 5^-35
    (0x84ec3c97da624ab4, 0xbd5af13bef0b113e), // 5^-34
    (0xa6274bbdd0fadd61, 0xecb1ad8aeacdd58e), // 5^-33
    (0xcfb11ead453994ba, 0x67de18eda5814af2), // 5^-32
    (0x81ceb32c4b43fcf4, 0x80eacf948770ced7), // 5^-31
    (0xa2425ff75e14fc31, 0xa1258379a94d028d), // 5^-30
    (0xcad2f7f5359a3b3e, 0x096ee45813a04330), // 5^-29
    (0xfd87b5f28300ca0d, 0x8bca9d6e188853fc), // 5^-28
    (0x9e74d1b791e07e48, 0x775ea264cf55347e), // 5^-27
    (0xc612062576589dda, 0x95364afe032a819e), // 5^-26
    (0xf79687aed3eec551, 0x3a83ddbd83f52205), // 5^-25
    (0x9abe14cd44753b52, 0xc4926a9672793543), // 5^-24
    (0xc16d9a0095928a27, 0x75b7053c0f178294), // 5^-23
    (0xf1c90080baf72cb1, 0x5324c68b12dd6339), // 5^-22
    (0x971da05074da7bee, 0xd3f6fc16ebca5e04), // 5^-21
    (0xbce5086492111aea, 0x88f4bb1ca6bcf585), // 5^-20
    (0xec1e4a7db69561a5, 0x2b31e9e3d06c32e6), // 5^-19
    (0x9392ee8e921d5d07, 0x3aff322e62439fd0), // 5^-18
    (0xb877aa3236a4b449, 0x09befeb9fad487c3), // 5^-17
    (0xe69594bec44de15b, 0x4c2ebe687989a9b4), // 5^-16
    (0x901d7cf73ab0acd9, 0x0f9d37014bf60a11), // 5^-15
    (0xb424dc35095cd80f, 0x538484c19ef38c95), // 5^-14
    (0xe12e13424bb40e13, 0x2865a5f206b06fba), // 5^-13
    (0x8cbccc096f5088cb, 0xf93f87b7442e45d4), // 5^-12
    (0xafebff0bcb24aafe, 0xf78f69a51539d749), // 5^-11
    (0xdbe6fecebdedd5be, 0xb573440e5a884d1c), // 5^-10
    (0x89705f4136b4a597, 0x31680a88f8953031), // 5^-9
    (0xabcc77118461cefc, 0xfdc20d2b36ba7c3e), // 5^-8
    (0xd6bf94d5e57a42bc, 0x3d32907604691b4d), // 5^-7
    (0x8637bd05af6c69b5, 0xa63f9a49c2c1b110), // 5^-6
    (0xa7c5ac471b478423, 0x0fcf80dc33721d54), // 5^-5
    (0xd1b71758e219652b, 0xd3c36113404ea4a9), // 5^-4
    (0x83126e978d4fdf3b, 0x645a1cac083126ea), // 5^-3
    (0xa3d70a3d70a3d70a, 0x3d70a3d70a3d70a4), // 5^-2
    (0xcccccccccccccccc, 0xcccccccccccccccd), // 5^-1
    (0x8000000000000000, 0x0000000000000000), // 5^0
    (0xa000000000000000, 0x0000000000000000), // 5^1
    (0xc800000000000000, 0x0000000000000000), // 5^2
    (0xfa00000000000000, 0x0000000000000000), // 5^3
    (0x9c40000000000000, 0x0000000000000000), // 5^4
    (0xc350000000000000, 0x0000000000000000), // 5^5
    (0xf424000000000000, 0x0000000000000000), // 5^6
    (0x9896800000000000, 0x0000000000000000), // 5^7
    (0xbebc200000000000, 0x0000000000000000), // 5^8
    (0xee6b280000000000, 0x0000000000000000), // 5^9
    (0x9502f90000000000, 0x0000000000000000), // 5^10
    (0xba43b74000000000, 0x0000000000000000), // 5^11
    (0xe8d4a51000000000, 0x0000000000000000), // 5^12
    (0x9184e72a00000000, 0x0000000000000000), // 5^13
    (0xb5e620f480000000, 0x0000000000000000), // 5^14
    (0xe35fa931a0000000, 0x0000000000000000), // 5^15
    (0x8e1bc9bf04000000, 0x0000000000000000), // 5^16
    (0xb1a2bc2ec5000000, 0x0000000000000000), // 5^17
    (0xde0b6b3a76400000, 0x0000000000000000), // 5^18
    (0x8ac7230489e80000, 0x0000000000000000), // 5^19
    (0xad78ebc5ac620000, 0x0000000000000000), // 5^20
    (0xd8d726b7177a8000, 0x0000000000000000), // 5^21
    (0x878678326eac9000, 0x0000000000000000), // 5^22
    (0xa968163f0a57b400, 0x0000000000000000), // 5^23
    (0xd3c21bcecceda100, 0x0000000000000000), // 5^24
    (0x84595161401484a0, 0x0000000000000000), // 5^25
    (0xa56fa5b99019a5c8, 0x0000000000000000), // 5^26
    (0xcecb8f27f4200f3a, 0x0000000000000000), // 5^27
    (0x813f3978f8940984, 0x4000000000000000), // 5^28
    (0xa18f07d736b90be5, 0x5000000000000000), // 5^29
    (0xc9f2c9cd04674ede, 0xa400000000000000), // 5^30
    (0xfc6f7c4045812296, 0x4d00000000000000), // 5^31
    (0x9dc5ada82b70b59d, 0xf020000000000000), // 5^32
    (0xc5371912364ce305, 0x6c28000000000000), // 5^33
    (0xf684df56c3e01bc6, 0xc732000000000000), // 5^34
    (0x9a130b963a6c115c, 0x3c7f400000000000), // 5^35
    (0xc097ce7bc90715b3, 0x4b9f100000000000), // 5^36
    (0xf0bdc21abb48db20, 0x1e86d40000000000), // 5^37
    (0x96769950b50d88f4, 0x1314448000000000), // 5^38
    (0xbc143fa4e250eb31, 0x17d955a000000000), // 5^39
    (0xeb194f8e1ae525fd, 0x5dcfab0800000000), // 5^40
    (0x92efd1b8d0cf37be, 0x5aa1cae500000000), // 5^41
    (0xb7abc627050305ad, 0xf14a3d9e40000000), // 5^42
    (0xe596b7b0c643c719, 0x6d9ccd05d0000000), // 5^43
    (0x8f7e32ce7bea5c6f, 0xe4820023a2000000), // 5^44
    (0xb35dbf821ae4f38b, 0xdda2802c8a800000), // 5^45
    (0xe0352f62a19e306e, 0xd50b2037ad200000), // 5^46
    (0x8c213d9da502de45, 0x4526f422cc340000), // 5^47
    (0xaf298d050e4395d6, 0x9670b12b7f410000), // 5^48
    (0xdaf3f04651d47b4c, 0x3c0cdd765f114000), // 5^49
    (0x88d8762bf324cd0f, 0xa5880a69fb6ac800), // 5^50
    (0xab0e93b6efee0053, 0x8eea0d047a457a00), // 5^51
    (0xd5d238a4abe98068, 0x72a4904598d6d880), // 5^52
    (0x85a36366eb71f041, 0x47a6da2b7f864750), // 5^53
    (0xa70c3c40a64e6c51, 0x999090b65f67d924), // 5^54
    (0xd0cf4b50cfe20765, 0xfff4b4e3f741cf6d), // 5^55
    (0x82818f1281ed449f, 0xbff8f10e7a8921a4), // 5^56
    (0xa321f2d7226895c7, 0xaff72d52192b6a0d), // 5^57
    (0xcbea6f8ceb02bb39, 0x9bf4f8a69f764490), // 5^58
    (0xfee50b7025c36a08, 0x02f236d04753d5b4), // 5^59
    (0x9f4f2726179a2245, 0x01d762422c946590), // 5^60
    (0xc722f0ef9d80aad6, 0x424d3ad2b7b97ef5), // 5^61
    (0xf8ebad2b84e0d58b, 0xd2e0898765a7deb2), // 5^62
    (0x9b934c3b330c8577, 0x63cc55f49f88eb2f), // 5^63
    (0xc2781f49ffcfa6d5, 0x3cbf6b71c76b25fb), // 5^64
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's entries that u128 holds whole (5^0 to 5^55), recomputed and normalised.
    #[test]
    fn the_exact_powers_of_five_in_the_table_are_5_to_the_q() {
        for q in 0..=55u32 {
            let power = 5u128.pow(q);
            let normalised = power << power.leading_zeros();
            let (high, low) = POWERS_OF_FIVE[(i64::from(q) - SMALLEST_POWER) as usize];
            assert_eq!((u128::from(high) << 64) | u128::from(low), normalised, "5^{q}");
        }
    }

    /// Each negative power times its positive counterpart is 1, up to the rounding of both.
    #[test]
    fn the_negative_powers_are_the_inverses_of_the_positive_ones() {
        for q in 1..=LARGEST_POWER {
            let high = |q: i64| POWERS_OF_FIVE[(q - SMALLEST_POWER) as usize].0 as f64;
            // Normalised mantissas in [2^63, 2^64): their product is 2^126 or 2^127, within
            // the rounding of the 64-bit high words.
            let product = high(q) * high(-q) / 2f64.powi(126);
            assert!(
                (product - 1.0).abs() < 1e-15 || (product - 2.0).abs() < 1e-15,
                "5^±{q}: {product}"
            );
        }
    }
}
