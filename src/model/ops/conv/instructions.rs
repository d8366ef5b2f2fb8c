//! Which vector instructions the direct convolution and max pool run on: chosen once for the
//! process (`--direct-kernels`), before a model's plan is made for them.

use std::sync::OnceLock;

use super::DirectKernels;

/// The vector instructions the direct convolution and max pool run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// 32 registers of 16 floats, and masked loads and stores.
    Avx512,
    /// AVX2 with FMA (for example AMD's cores before Zen 4): 16 registers of 8 floats, so
    /// smaller tiles (`avx2/`).
    Avx2,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
        }
    }
}

/// The instructions the kernels run on, if any: [`choose`]'s choice, else `Auto`'s. The first
/// call fixes it for the process, as a call to `choose` does.
pub fn isa() -> Option<Isa> {
    *CHOSEN.get_or_init(|| wanted(DirectKernels::Auto))
}

static CHOSEN: OnceLock<Option<Isa>> = OnceLock::new();

/// Chooses, once for the process and before a model loads, which instructions the kernels run
/// on: AVX-512 where the machine has it (`Auto`), AVX2 (`Avx2`), or none (`Off`: tract's
/// kernels throughout). The first choice stays (a plan made for the kernels must find them when
/// it runs); a later call, or one after [`isa`], returns it unchanged.
pub fn choose(kernels: DirectKernels) -> Option<Isa> {
    *CHOSEN.get_or_init(|| wanted(kernels))
}

fn wanted(kernels: DirectKernels) -> Option<Isa> {
    match kernels {
        DirectKernels::Auto => auto(),
        DirectKernels::Avx2 => has_avx2().then_some(Isa::Avx2),
        DirectKernels::Off => None,
    }
}

/// `Auto`'s choice: AVX-512 alone. The AVX2 kernels ran ResNet-50 and DenseNet-121 in 1.4x and
/// 1.3x the time of tract's own AVX2 kernels (a Zen 4 with tract's AVX-512 turned off:
/// BENCHMARKS.md, stop 33), so a machine without AVX-512 is left to tract.
#[cfg(not(test))]
fn auto() -> Option<Isa> {
    widest().filter(|isa| *isa == Isa::Avx512)
}

/// In this crate's unit tests `Auto` is the kernels under test, whichever test chooses first
/// (every model load does): those `AML_SCORER_DIRECT_KERNELS` names (`scripts/test.sh` runs the
/// kernels' tests again with `avx2`), else the widest the machine has, AVX2 included, so that a
/// host without AVX-512 tests them too.
#[cfg(test)]
fn auto() -> Option<Isa> {
    match std::env::var("AML_SCORER_DIRECT_KERNELS").as_deref() {
        Ok("avx2") => has_avx2().then_some(Isa::Avx2),
        Ok("auto") | Err(_) => widest(),
        Ok(other) => panic!("AML_SCORER_DIRECT_KERNELS={other}: the unit tests take auto or avx2"),
    }
}

/// The widest vector instructions this machine has that the kernels are written for, if any.
fn widest() -> Option<Isa> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        return Some(Isa::Avx512);
    }
    has_avx2().then_some(Isa::Avx2)
}

/// Whether this machine has AVX2 and FMA.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this machine runs the kernels.
pub fn available() -> bool {
    isa().is_some()
}
