//! Conformance cases for the norm family.
use suanli_backends::conformance::Case;

/// Every norm case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
