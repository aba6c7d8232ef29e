//! `earthmover::heap`. Its own test binary: glibc's counters are process-wide, so no other
//! test may allocate or free between the readings.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

/// Bytes glibc currently holds in separately mapped blocks.
fn mapped_bytes() -> usize {
    // SAFETY: `mallinfo2` only reads the allocator's counters.
    unsafe { libc::mallinfo2().hblkhd }
}

/// After the call an 8 MiB buffer (a typical activation is 0.5–8 MiB) comes from the heap,
/// where its memory is reused after `free`, instead of from a fresh mapping; a 64 MiB one
/// is still mapped.
#[test]
fn buffers_up_to_32_mib_come_from_the_reusable_heap() {
    assert!(earthmover::heap::keep_freed_memory());
    let before = mapped_bytes();
    let small = vec![1u8; 8 << 20];
    let after_small = mapped_bytes();
    let large = vec![1u8; 64 << 20];
    let after_large = mapped_bytes();
    assert!(after_small < before + (8 << 20), "an 8 MiB buffer was mapped on its own");
    assert!(after_large >= after_small + (64 << 20), "a 64 MiB buffer was not mapped on its own");
    drop((small, large));
}
