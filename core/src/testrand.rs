//! The generated-input tests' random numbers: one fixed xorshift64, so every run sees the same inputs.

/// Marsaglia's xorshift64 from a seed.
pub struct XorShift(pub u64);

impl XorShift {
    /// The next state.
    pub fn step(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`, from the state's high bits.
    pub fn below(&mut self, n: usize) -> usize {
        (self.step() >> 11) as usize % n
    }
}
