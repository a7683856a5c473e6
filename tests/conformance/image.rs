//! Conformance cases for the image family.
use suanli_backends::conformance::Case;

/// Every image case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
