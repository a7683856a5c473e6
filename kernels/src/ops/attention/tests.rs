//! Unit tests for the attention family.
