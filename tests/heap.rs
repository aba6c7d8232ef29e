//! `earthmover::heap`. Its own test binary: glibc's counters are process-wide, so no other
//! test may allocate or free between the readings.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

/// Bytes glibc currently holds in separately mapped blocks.
fn mapped_bytes() -> usize {
    // SAFETY: `mallinfo2` only reads the allocator's counters.
    unsafe { libc::mallinfo2().hblkhd }
}

/// After the call an 8 MiB buffer (a typical activation is 0.5–8 MiB) and a 320 MB one (the
/// See et al.-sized vocabulary logits) both come from the heap, where their memory is reused
/// after `free`, instead of from fresh mappings.
#[test]
fn large_buffers_come_from_the_reusable_heap() {
    assert!(earthmover::heap::keep_freed_memory());
    let before = mapped_bytes();
    let small = vec![1u8; 8 << 20];
    let large = vec![1u8; 320 << 20];
    let after = mapped_bytes();
    assert!(after < before + (8 << 20), "a buffer was mapped on its own ({} bytes more)", after - before);
    drop((small, large));
}
