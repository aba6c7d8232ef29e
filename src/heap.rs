//! Keeping freed memory in the process (native builds on glibc).
//!
//! A training step allocates and frees the same few hundred buffers every iteration. By default
//! glibc serves each buffer over 128 KiB with a fresh `mmap` and returns it on `free`, and its
//! heap gives memory back once 128 KiB are free at the top, so every step faults in and zeroes
//! fresh pages again. Raising both thresholds keeps the freed buffers for reuse. On this
//! project's machine that took the release GAN benchmark (3×512, BENCHMARKS.md) from about 4.0
//! to about 4.6 generator iterations per second.
//!
//! glibc caps the mmap threshold at 32 MiB, so larger buffers (the See et al.-sized
//! summarizer's `[1600, 50000]` logits and their gradient, 320 MB each) were still mapped,
//! page-faulted and zeroed by the kernel on every step. Turning `mmap` off altogether
//! (`M_MMAP_MAX` 0) serves them from the heap too, where they are reused: the See-sized step
//! went from 6.3 s to 5.9 s and its beam search from 1.73 s to 1.26 s (BENCHMARKS.md).

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
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
                && libc::mallopt(libc::M_MMAP_MAX, 0) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
