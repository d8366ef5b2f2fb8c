//! Denormal operands read as zero while the direct convolution runs, as tract's kernels read
//! them: the answers stay tract's, and a request of tiny floats costs no microcode assist per
//! multiply-add.

/// Sets MXCSR's denormals-are-zero bit (as tract's kernels do on entry) until dropped, when the
/// thread's previous MXCSR comes back.
pub(super) struct DenormalsAreZero {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

impl DenormalsAreZero {
    #[cfg(target_arch = "x86_64")]
    const DAZ: u32 = 0x40;

    pub fn set() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let mut saved = 0u32;
            // SAFETY: stmxcsr stores the 4-byte control register into `saved`; ldmxcsr loads a
            // value that differs from the current one only by the DAZ bit, which x86-64 has.
            unsafe {
                std::arch::asm!("stmxcsr [{}]", in(reg) &mut saved, options(nostack));
                let daz = saved | Self::DAZ;
                std::arch::asm!("ldmxcsr [{}]", in(reg) &daz, options(nostack, readonly));
            }
            DenormalsAreZero { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        DenormalsAreZero {}
    }
}

impl Drop for DenormalsAreZero {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: loads back the value stmxcsr read from this thread's MXCSR.
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &self.saved, options(nostack, readonly));
        }
    }
}
