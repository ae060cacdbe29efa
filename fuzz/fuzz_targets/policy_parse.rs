//! libFuzzer target: the policy document parser and compiler must never panic on any input.
#![no_main]

use gatehouse_policy::{CompiledPolicy, PolicyKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for kind in [PolicyKind::Identity, PolicyKind::Resource, PolicyKind::Trust, PolicyKind::Session, PolicyKind::Boundary] {
            let _ = CompiledPolicy::parse(text, kind, "fuzz");
        }
    }
});
