//! Conformance cases for the reduce family.
use suanli_backends::conformance::Case;

/// Every reduce case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
