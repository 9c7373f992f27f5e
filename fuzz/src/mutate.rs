//! The mutations: byte-level edits of one input, drawn from a seeded generator so that every
//! run is reproducible from its seed.

/// Values that sit on the edges of length and count fields: zero, one, sign bits, the
/// largest values of each width, and 2^40 (a tensor far larger than any file).
const INTERESTING: [u64; 12] = [
    0,
    1,
    16,
    255,
    256,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 40,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// A seeded source of mutations (SplitMix64: fast, and one `u64` of state to reproduce a run).
#[derive(Debug, Clone)]
pub struct Mutator {
    state: u64,
}

impl Mutator {
    /// A mutator whose draws are fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A draw in `0..n` (`0` when `n` is zero).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.bits() % n as u64) as usize
        }
    }

    /// Applies one to four mutations to `input`; `others` are the other seeds, for splicing.
    pub fn mutate(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        for _ in 0..1 + self.below(4) {
            self.once(input, others);
        }
    }

    fn once(&mut self, input: &mut Vec<u8>, others: &[Vec<u8>]) {
        let len = input.len();
        match self.below(9) {
            // Flip one bit.
            0 if len > 0 => {
                let at = self.below(len);
                input[at] ^= 1 << self.below(8);
            }
            // Overwrite one byte with an edge value or a random one.
            1 if len > 0 => {
                let at = self.below(len);
                input[at] = match self.below(6) {
                    0 => 0,
                    1 => 1,
                    2 => 0x7f,
                    3 => 0x80,
                    4 => 0xff,
                    _ => self.bits() as u8,
                };
            }
            // Overwrite 2, 4 or 8 bytes with an edge value, little- or big-endian: the
            // lengths, counts, offsets and shapes of every format.
            2 if len > 0 => {
                let width = [2, 4, 8][self.below(3)];
                let value = INTERESTING[self.below(INTERESTING.len())];
                let bytes = if self.below(2) == 0 {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                let bytes = if self.below(2) == 0 {
                    &bytes[..width]
                } else {
                    &bytes[8 - width..]
                };
                let at = self.below(len);
                let end = (at + width).min(len);
                input[at..end].copy_from_slice(&bytes[..end - at]);
            }
            // Add or subtract a small number to a byte (an off-by-one in a length).
            3 if len > 0 => {
                let at = self.below(len);
                let delta = 1 + self.below(16) as u8;
                input[at] = if self.below(2) == 0 {
                    input[at].wrapping_add(delta)
                } else {
                    input[at].wrapping_sub(delta)
                };
            }
            // Truncate.
            4 => input.truncate(self.below(len + 1)),
            // Delete a range.
            5 if len > 0 => {
                let at = self.below(len);
                let count = 1 + self.below((len - at).min(64));
                input.drain(at..at + count);
            }
            // Duplicate a range of the input somewhere else in it.
            6 if len > 0 => {
                let from = self.below(len);
                let count = 1 + self.below((len - from).min(256));
                let chunk = input[from..from + count].to_vec();
                let at = self.below(len + 1);
                input.splice(at..at, chunk);
            }
            // Insert random bytes.
            7 => {
                let at = self.below(len + 1);
                let chunk: Vec<u8> = (0..1 + self.below(32)).map(|_| self.bits() as u8).collect();
                input.splice(at..at, chunk);
            }
            // Splice: this input's head, another seed's tail.
            _ if !others.is_empty() => {
                let other = &others[self.below(others.len())];
                let cut = self.below(len + 1);
                let from = self.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            _ => {}
        }
    }
}
