//! The op conformance suite: every case on every available device against the CPU reference
//! (ggml's test-backend-ops is the model). Adding an op test is one `Case` in
//! `tests/conformance/<family>.rs`. Pass counts per device are floors in `tests/floors.txt`.

mod common;
mod conformance {
    pub mod conv;
    pub mod elementwise;
    pub mod image;
    pub mod layout;
    pub mod linalg;
    pub mod norm;
    pub mod pool;
    pub mod reduce;
}

use suanli_backends::conformance::{Case, Outcome};

/// Every case of every family.
pub fn all_cases() -> Vec<Case> {
    use conformance::*;
    let mut v = Vec::new();
    for f in [
        elementwise::cases,
        layout::cases,
        reduce::cases,
        norm::cases,
        linalg::cases,
        conv::cases,
        pool::cases,
        image::cases,
    ] {
        v.extend(f());
    }
    v
}

#[test]
fn conformance_on_every_device() {
    let cases = all_cases();
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name.clone()), "duplicate case name {}", c.name);
    }
    for dev_name in common::test_devices() {
        let dev = match suanli_backends::open(&dev_name, &Default::default()) {
            Ok(d) => d,
            Err(e) => {
                println!("SKIPPED: conformance on {dev_name}: {e}");
                continue;
            }
        };
        let (mut pass, mut unsupported, mut fails) = (0usize, Vec::new(), Vec::new());
        for c in &cases {
            match c.check(dev.as_ref()) {
                Outcome::Pass => pass += 1,
                Outcome::Unsupported(why) => unsupported.push(format!("{}: {why}", c.name)),
                Outcome::Fail(why) => fails.push(format!("{}: {why}", c.name)),
            }
        }
        println!(
            "conformance on {dev_name}: {pass} pass, {} unsupported, {} fail of {}",
            unsupported.len(),
            fails.len(),
            cases.len()
        );
        for u in &unsupported {
            println!("  unsupported {u}");
        }
        assert!(
            fails.is_empty(),
            "{dev_name} disagrees with the CPU:\n{}",
            fails.join("\n")
        );
        let key = format!("conformance.{}", dev_name.replace(':', "_"));
        if let Some(floor) = common::floor(&key) {
            assert!(pass >= floor, "{key}: {pass} cases pass, below the floor of {floor}");
        }
    }
}
