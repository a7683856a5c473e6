//! Conformance cases for the linalg family.
use suanli_backends::conformance::Case;

/// Every linalg case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
