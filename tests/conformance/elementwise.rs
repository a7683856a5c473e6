//! Conformance cases for the elementwise family.
use suanli_backends::conformance::Case;

/// Every elementwise case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
