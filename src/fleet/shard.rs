//! `--shard I/N`: a stable 1/N of the environments, so that N CI jobs or pods split a fleet with
//! no scheduler of ours. The hash is FNV-1a (64-bit) over the name's UTF-8 bytes: the same on
//! every machine, release and platform, unlike Rust's randomly seeded hasher.

use std::fmt;

/// Shard `index` (1-based) of `total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// Most shards a fleet is split into: far beyond any CI's parallel jobs.
pub const MAX_SHARDS: u32 = 10_000;

/// Parses `I/N` with 0 <= I <= N (clap's value parser); [`Shard::numbered`] then applies the
/// base and checks the range.
pub fn parse(s: &str) -> Result<Shard, String> {
    let bad = || {
        format!(
            "--shard {s} is not I/N with 1 <= I <= N <= {MAX_SHARDS} (e.g. --shard 2/4; Kubernetes' 0-based JOB_COMPLETION_INDEX needs +1)"
        )
    };
    let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
    let index: u32 = i.trim().parse().map_err(|_| bad())?;
    let total: u32 = n.trim().parse().map_err(|_| bad())?;
    if total == 0 || index > total || total > MAX_SHARDS {
        return Err(bad());
    }
    Ok(Shard { index, total })
}

/// FNV-1a, 64 bit.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Shard {
    /// The shard as given, counted from 1 (`--shard 2/4`) or, with `from_zero`, from 0 (Kubernetes'
    /// `JOB_COMPLETION_INDEX`): the 1-based shard, or why it is out of range.
    pub fn numbered(self, from_zero: bool) -> Result<Shard, String> {
        let index = if from_zero {
            self.index + 1
        } else {
            self.index
        };
        if index == 0 || index > self.total {
            let range = if from_zero {
                format!("0 to {}", self.total - 1)
            } else {
                format!("1 to {}", self.total)
            };
            return Err(format!(
                "--shard {}/{}: the index must be {range}{}",
                self.index,
                self.total,
                if from_zero {
                    " with --shard-from-zero"
                } else {
                    " (add --shard-from-zero for 0-based indexes)"
                }
            ));
        }
        Ok(Shard {
            index,
            total: self.total,
        })
    }

    /// Whether this shard evaluates the environment `name`: `fnv1a(name) mod N == I - 1`.
    pub fn holds(&self, name: &str) -> bool {
        fnv1a(name.as_bytes()) % u64::from(self.total) == u64::from(self.index - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // From the FNV reference test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_name_is_in_exactly_one_shard() {
        for total in [1, 2, 3, 7] {
            for k in 0..200 {
                let name = format!("tenant-{k:04}");
                let n = (1..=total)
                    .filter(|&index| Shard { index, total }.holds(&name))
                    .count();
                assert_eq!(n, 1, "{name} in {total} shards");
            }
        }
    }

    #[test]
    fn shards_parse_one_based() {
        assert_eq!(parse("2/4").unwrap(), Shard { index: 2, total: 4 });
        for bad in ["5/4", "1/0", "x", "1/", "/2", "-1/2", "1/10001"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let zero = parse("0/4").unwrap();
        assert!(zero.numbered(false).is_err());
        assert_eq!(zero.numbered(true).unwrap(), Shard { index: 1, total: 4 });
        assert!(parse("4/4").unwrap().numbered(true).is_err());
        assert_eq!(parse("4/4").unwrap().numbered(false).unwrap().index, 4);
    }
}
