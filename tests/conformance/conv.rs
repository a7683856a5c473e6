//! Conformance cases for the conv family.
use suanli_backends::conformance::Case;

/// Every conv case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
