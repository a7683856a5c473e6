//! Conformance cases for the pool family.
use suanli_backends::conformance::Case;

/// Every pool case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
