//! Graph passes: small functions `fn(&mut Graph) -> Result<…>`, one per file.

pub mod dce;
pub mod fold;
