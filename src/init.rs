//! `init`, top to bottom: for a model blob, get a managed-identity token and download it; load
//! the model and check it against the batching setting; then, when the start-up blob is
//! configured, read it (with the model's identity session, or a new one). Each step is timed; a
//! failure logs one line naming the step, the target and the cause, and ends `init` (the process
//! then exits 3, or 2 for a setting the model cannot take). Success hands over the scorer.

use std::{path::PathBuf, sync::Arc, time::Instant};

use crate::{
    azure::{BlobTarget, IdentitySettings, ModelBlob, Session, StartupBlob},
    hf::{image::ImageModel, text::TextModel},
    model::{BatchRule, OnnxModel, Predictor, Scorer, ScorerSettings},
    telemetry::{ErrorChain, Metrics},
};

/// The model to load and its name.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    pub source: ModelSource,
    /// The model's name in the KServe V2 routes.
    pub name: String,
    /// The most pixels one request image may have (`--max-image-pixels`).
    pub max_image_pixels: u64,
}

/// Where the model comes from.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value, built once at start: a box would only add an indirection"
)]
pub enum ModelSource {
    /// A file of the model folder.
    File(PathBuf),
    /// A blob, downloaded at `init` with the managed identity.
    Blob {
        blob: ModelBlob,
        identity: IdentitySettings,
    },
}

impl ModelSource {
    /// The file name without `.onnx`: the model's default name.
    pub fn stem(&self) -> Option<&str> {
        match self {
            ModelSource::File(path) => path.file_stem()?.to_str(),
            ModelSource::Blob { blob, .. } => blob.target.stem(),
        }
    }
}

/// Why `init` stopped; already logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitFailed {
    /// A step failed: the Azure ML server's exit 3.
    Step,
    /// A setting does not fit the loaded model: exit 2, as for any invalid setting.
    Setting,
}

/// Runs every step, then hands the scorer to `ready` (which starts scoring and readiness).
pub async fn run(
    model: &ModelSettings,
    scoring: ScorerSettings,
    startup_blob: Option<&StartupBlob>,
    metrics: Arc<Metrics>,
    ready: impl FnOnce(Scorer),
) -> Result<(), InitFailed> {
    let started = Instant::now();
    // Before the model loads: its plan is made for the kernels chosen.
    let kernels = crate::model::choose_kernels(scoring.direct_kernels);
    tracing::info!(
        kernels = kernels.map_or("tract's", |isa| isa.name()),
        setting = ?scoring.direct_kernels,
        reason = kernels_reason(scoring.direct_kernels, kernels),
        "convolution and max-pool kernels"
    );
    // The identity comes first when the model itself is a blob; otherwise after the model, as
    // the walkthrough orders its steps.
    let (loaded, target, model_ms, mut session) = load_model(&model.source, &metrics).await?;
    tracing::info!(step = "model", path = %target, input = loaded.input_shape(), output = loaded.output_shape(), ms = model_ms, "model loaded");
    let spec = loaded.spec().clone();
    let rule = spec.batch_rule();
    tracing::info!(batch = %rule, "batch rule");
    if let (Some(batching), BatchRule::Fixed(_) | BatchRule::PerItem) = (scoring.batching, rule) {
        tracing::error!(
            max_rows = batching.max_rows.get(),
            "invalid setting --batch-max-rows (AML_SCORER_BATCH_MAX_ROWS): the model {target} \
             (--model-file, AML_SCORER_MODEL_FILE) has its {rule}, so requests cannot be batched \
             together; turn dynamic batching off or export the model with a dynamic batch dimension"
        );
        return Err(InitFailed::Setting);
    }
    let (input_shape, output_shape) = (loaded.input_shape().to_owned(), loaded.output_shape().to_owned());
    if let Some(batching) = scoring.batching {
        tracing::info!(
            max_rows = batching.max_rows.get(),
            wait_us = batching.wait.as_micros() as u64,
            "dynamic batching on"
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (threads, why) = scoring.intra_op_threads.resolve(cores);
    tracing::info!(threads = threads.threads(), reason = %why, "intra-op threads per model run");
    let loaded = loaded.with_threads(threads.clone());
    let predictor = preprocessing(&model.source, loaded, model.max_image_pixels, &target)?;
    let scorer = Scorer::new(
        predictor,
        scoring.timeout,
        scoring.batching,
        metrics.clone(),
        threads,
    );

    let step = Instant::now();
    let blob_ms = match startup_blob {
        None => {
            tracing::info!(
                step = "blob",
                reason = "STORAGE_ACCOUNT_NAME, STORAGE_CONTAINER_NAME and FILE_NAME are not set",
                "blob step skipped"
            );
            None
        }
        Some(StartupBlob { target, identity }) => {
            // The model's session, when there is one, has the same identity: both are read from
            // the same settings.
            let session = match session.take() {
                Some(session) => session,
                None => connect(identity, &metrics, target).await?,
            };
            session
                .read_startup_blob(target, &metrics)
                .await
                .map_err(|e| fail(e.step(), &target.to_string(), &e))?;
            Some(ms(step))
        }
    };
    ready(scorer);
    tracing::info!(
        input = %input_shape,
        output = %output_shape,
        inputs = %spec.input_names(),
        input_width = spec.row_width(),
        model_ms,
        blob_ms,
        total_ms = ms(started),
        "ready"
    );
    Ok(())
}

/// The model as clients call it: wrapped in the preprocessing that Hugging Face's files beside a
/// model file ask for (SPEC 10): text (`tokenizer.json`), else images (`preprocessor_config.json`),
/// or as it is. A file that cannot be used fails the step.
fn preprocessing(
    source: &ModelSource,
    model: OnnxModel,
    max_image_pixels: u64,
    target: &str,
) -> Result<Arc<dyn Predictor>, InitFailed> {
    let ModelSource::File(path) = source else {
        return Ok(Arc::new(model));
    };
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    let model: Arc<dyn Predictor> = match TextModel::load(folder, model) {
        Err(e) => return Err(fail("preprocessing", target, &e)),
        Ok(Ok(text)) => {
            tracing::info!(step = "preprocessing", preprocessing = %text.summary, "text preprocessing on");
            return Ok(Arc::new(text));
        }
        Ok(Err(model)) => Arc::new(model),
    };
    match ImageModel::wrap(folder, model.clone(), max_image_pixels) {
        Err(e) => Err(fail("preprocessing", target, &e)),
        Ok(Some(images)) => {
            tracing::info!(step = "preprocessing", preprocessing = %images.describe(), max_image_pixels, "image preprocessing on");
            Ok(Arc::new(images))
        }
        Ok(None) => Ok(model),
    }
}

/// The identity step, for the blob `subject` that needs it.
async fn connect(
    identity: &IdentitySettings,
    metrics: &Metrics,
    subject: &BlobTarget,
) -> Result<Session, InitFailed> {
    Session::connect(identity, metrics)
        .await
        .map_err(|e| fail(e.step(), &subject.to_string(), &e))
}

/// The model step (with the identity and download steps before it for a blob): the loaded
/// model, what it was loaded from, how long loading took, and the blob's identity session.
async fn load_model(
    source: &ModelSource,
    metrics: &Metrics,
) -> Result<(OnnxModel, String, f64, Option<Session>), InitFailed> {
    let (target, loaded, step, session) = match source {
        ModelSource::File(path) => {
            let (path, target) = (path.clone(), path.display().to_string());
            let step = Instant::now();
            let loaded = tokio::task::spawn_blocking(move || OnnxModel::load(&path)).await;
            (target, loaded, step, None)
        }
        ModelSource::Blob { blob, identity } => {
            let target = blob.target.to_string();
            let session = connect(identity, metrics, &blob.target).await?;
            let bytes = session
                .download_model(blob, metrics)
                .await
                .map_err(|e| fail(e.step(), &target, &e))?;
            let step = Instant::now();
            let described = target.clone();
            // The download is freed as soon as it is decoded (`load_bytes`).
            let loaded = tokio::task::spawn_blocking(move || OnnxModel::load_bytes(bytes, &described)).await;
            (target, loaded, step, Some(session))
        }
    };
    let loaded = loaded
        .map_err(|e| fail("model", &target, &e))?
        .map_err(|e| fail("model", &target, &e))?;
    metrics.init_step("model", step.elapsed());
    Ok((loaded, target, ms(step), session))
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

fn fail(step: &str, target: &str, cause: &(dyn std::error::Error + 'static)) -> InitFailed {
    // One line with everything a user needs: which step, on what, and why (the whole chain).
    let cause = ErrorChain(cause);
    tracing::error!(
        step,
        subject = target,
        "init failed at step {step} ({target}): {cause}"
    );
    InitFailed::Step
}

/// Why the start log's kernels are what they are, for the operator who expected others.
fn kernels_reason(setting: crate::model::DirectKernels, chosen: Option<crate::model::Isa>) -> &'static str {
    use crate::model::DirectKernels;
    match (setting, chosen) {
        (_, Some(_)) => "the machine has them",
        (DirectKernels::Auto, None) => {
            "no AVX-512 here (on AVX2 ours ran slower than tract's; --direct-kernels avx2 runs them)"
        }
        (DirectKernels::Avx2, None) => "no AVX2 with FMA here",
        (DirectKernels::Off, None) => "--direct-kernels off",
    }
}
