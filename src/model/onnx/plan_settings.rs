//! tract's plan choices that this server sets for every model, in tract's configuration layer: a
//! `TRACT_*` variable in the environment still wins over them (tract documents its knobs).

use std::sync::Once;

use tract_onnx::tract_core::knobs;

/// The kernel-size rule of tract's choice between gathering a convolution's patches once
/// (eager im2col) and once per panel of the matrix product (lazy), turned off: tract goes lazy for
/// every kernel of 6 taps or more (a default measured on Apple AMX), and on x86-64 the eager copy
/// measured faster wherever the two differ (ResNet-50 129 -> 115 ms for one image on tract alone,
/// the eight other CNNs of the onnx test zoo unchanged within noise: BENCHMARKS.md). tract's other
/// rules still apply: a concrete one-item convolution whose patch matrix would exceed 4 MiB, or
/// that fits one panel, stays lazy. (tract has no lazy path for a symbolic or larger batch.)
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
