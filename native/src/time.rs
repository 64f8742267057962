//! The envelope's `time` check (streams/envelope.py `_RFC3339` and `_date_exists`).

/// RFC 3339 as the Python check accepts it: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`,
/// second 60 allowed, and a day that exists in its month.
pub fn valid_time(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |at: &[usize]| at.iter().all(|&i| b[i].is_ascii_digit());
    if !(digits(&[0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
        && b[13] == b':'
        && b[16] == b':')
    {
        return false;
    }
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (month, day, hour, minute, second) = (two(5), two(8), two(11), two(14), two(17));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut at = 19;
    if b[at] == b'.' {
        let start = at + 1;
        at = start;
        while at < b.len() && b[at].is_ascii_digit() {
            at += 1;
        }
        if at == start {
            return false;
        }
    }
    let zone = &b[at..];
    let zone_ok = match zone {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let (h1, h2, m1, m2) = (*h1, *h2, *m1, *m2);
            [h1, h2, m1, m2].iter().all(u8::is_ascii_digit)
                && u32::from(h1 - b'0') * 10 + u32::from(h2 - b'0') <= 23
                && m1 <= b'5'
        }
        _ => false,
    };
    zone_ok && (day <= 28 || day <= days_in_month(two(0) * 100 + two(2), month))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
