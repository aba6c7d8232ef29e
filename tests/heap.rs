//! `earthmover::heap`. Its own test binary without the test harness: glibc's counters are
//! process-wide, so no other test may allocate or free between the readings, and the harness
//! would run the test on a spawned thread, whose arena glibc grows by `mmap` whatever the
//! settings (a thread arena's heap is at most 64 MiB). Training allocates its large buffers on
//! the main thread, as this test does.

/// Bytes glibc currently holds in separately mapped blocks.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn mapped_bytes() -> usize {
    // SAFETY: `mallinfo2` only reads the allocator's counters.
    unsafe { libc::mallinfo2().hblkhd }
}

/// After the call an 8 MiB buffer (a typical activation is 0.5–8 MiB) and a 320 MB one (the
/// See et al.-sized vocabulary logits) both come from the heap, where their memory is reused
/// after `free`, instead of from fresh mappings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn large_buffers_come_from_the_reusable_heap() {
    let before = mapped_bytes();
    let large = std::hint::black_box(vec![1u8; 320 << 20]);
    assert!(
        mapped_bytes() >= before + (320 << 20),
        "glibc's default should map a 320 MB buffer on its own"
    );
    drop(large);
    assert!(earthmover::heap::keep_freed_memory());
    let before = mapped_bytes();
    let small = std::hint::black_box(vec![1u8; 8 << 20]);
    let large = std::hint::black_box(vec![1u8; 320 << 20]);
    let after = mapped_bytes();
    assert!(
        after < before + (8 << 20),
        "a buffer was mapped on its own ({} bytes more)",
        after - before
    );
    drop((small, large));
    println!("test large_buffers_come_from_the_reusable_heap ... ok");
}

fn main() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    large_buffers_come_from_the_reusable_heap();
}
