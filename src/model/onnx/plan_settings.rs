//! tract's plan choices that this server sets for every model, in tract's configuration layer: a
//! `TRACT_*` variable in the environment still wins over them (tract documents its knobs).

use std::sync::Once;

use tract_onnx::tract_core::knobs;

/// Convolutions with a patch matrix under tract's eager-scratch bound (4 MiB) gather their
/// patches once, eagerly, whatever the kernel's size. tract gathers them lazily, once per panel
/// of the matrix product, for every kernel of 6 taps or more (a default measured on Apple AMX);
/// on x86-64 the eager copy measured faster wherever the two differ: ResNet-50 136 -> 116 ms for
/// one image, the eight other CNNs of the onnx test zoo unchanged within noise (BENCHMARKS.md).
/// Above the bound tract still goes lazy, so the scratch stays bounded.
const LAZY_IM2COL_MIN_KERNEL: usize = usize::MAX;

/// Sets them once per process, before the first model is optimised.
pub(super) fn apply() {
    static APPLIED: Once = Once::new();
    APPLIED.call_once(|| {
        if cfg!(target_arch = "x86_64") {
            if let Err(cause) = knobs::set_config_global(
                "TRACT_LAZY_IM2COL_MIN_KERNEL",
                &LAZY_IM2COL_MIN_KERNEL.to_string(),
            ) {
                tracing::warn!("tract's convolution setting was not applied: {cause:#}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_reaches_tract_and_parses_as_its_type() {
        apply();
        let value = knobs::all()
            .into_iter()
            .find(|knob| knob.name == "TRACT_LAZY_IM2COL_MIN_KERNEL")
            .map(|knob| (knob.current)());
        if cfg!(target_arch = "x86_64") && std::env::var_os("TRACT_LAZY_IM2COL_MIN_KERNEL").is_none() {
            assert_eq!(value, Some(LAZY_IM2COL_MIN_KERNEL.to_string()));
        }
    }
}
