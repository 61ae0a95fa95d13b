//! The fast tokenizer against html5ever's: on any input it declines, or hands the tree builder
//! the tokens html5ever's tokenizer would (text joined, parse errors aside), and the parse builds
//! the same tree.
//!
//!     cd core/fuzz && cargo +nightly fuzz run tokenize -- -max_total_time=60
#![no_main]
use _core::html::tokenize::differential::agree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    agree(&text);
});
