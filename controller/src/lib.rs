//! serin.
