//! serin binary.
fn main() {}
