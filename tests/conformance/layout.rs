//! Conformance cases for the layout family.
use suanli_backends::conformance::Case;

/// Every layout case.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
