//! Unit tests for the text family.
