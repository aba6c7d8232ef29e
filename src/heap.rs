//! Keeping freed memory in the process (native builds on glibc).
//!
//! A training step allocates and frees the same few hundred buffers every iteration. By default
//! glibc serves each buffer over 128 KiB with a fresh `mmap` and returns it on `free`, and its
//! heap gives memory back once 128 KiB are free at the top, so every step faults in and zeroes
//! fresh pages again. Raising both thresholds keeps the freed buffers for reuse. On this
//! project's machine that took the release GAN benchmark (3×512, BENCHMARKS.md) from about 4.0
//! to about 4.6 generator iterations per second. Buffers over 32 MiB are still mapped and
//! returned as before: a 1 GiB threshold made the See et al.-sized summarizer step, whose
//! vocabulary logits are hundreds of MB, slower (22.7 s against 20.0 s).

/// Largest allocation served from the heap rather than by its own `mmap`.
pub const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory at the top of a heap kept before glibc returns it to the system.
pub const TRIM_THRESHOLD: i32 = 512 << 20;

/// Sets both thresholds. Returns whether glibc accepted them; `false` on other allocators and
/// platforms, where nothing changes.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only changes allocator parameters and may be called at any time.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
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
        assert!(super::keep_freed_memory());
        let before = mapped_bytes();
        let small = vec![1u8; 8 << 20];
        let after_small = mapped_bytes();
        let large = vec![1u8; 64 << 20];
        let after_large = mapped_bytes();
        assert!(after_small < before + (8 << 20), "an 8 MiB buffer was mapped on its own");
        assert!(after_large >= after_small + (64 << 20), "a 64 MiB buffer was not mapped on its own");
        drop((small, large));
    }
}
