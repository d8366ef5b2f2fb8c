//! Criterion benchmarks of the Hugging Face preprocessing alone, on one thread (the rows of
//! BENCHMARKS.md's "Images and text from Hugging Face files"; `scripts/bench-hf.sh` runs them
//! beside Python's, alternating):
//! - `hf/image_jpeg_640x480_to_224`: tests/fixtures/hf_image/images/photo640x480.jpg (its file
//!   bytes) to the normalized 224x224 tensor with CLIP's steps (the fixtures' `clip` config at
//!   CLIP's own sizes: shortest edge 224, Pillow's bicubic, center crop 224), EXIF and RGB
//!   included, as `ImageModel` runs it per image;
//! - `hf/tokenize_32_sentences`: benches/hf-sentences.txt through the classifier fixture's
//!   `tokenizer.json` (truncated to its model_max_length, 16) into its three padded int64 inputs,
//!   as `TextModel` runs it per request.
//!
//! Both run with the server's allocator (mimalloc, set up as `src/main.rs` sets it): the system's
//! allocator spent a third of the tokenizing time in malloc and free (perf), which is not what
//! the server runs.
//!
//! `cargo bench --bench hf` (add `-- --quick` for a short run).

use std::{hint::black_box, path::PathBuf};

use aml_scorer::hf::{
    image::{decode_rgb, to_tensor, ImageConfig, Layout},
    text::TextModel,
};
use aml_scorer::model::OnnxModel;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The fixtures' CLIP configuration at CLIP's own sizes (`benches/hf.py` builds the same).
fn clip_224() -> ImageConfig {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(repo("tests/fixtures/hf_image/expected.json")).unwrap())
            .unwrap();
    let mut fields = expected["configs"]["clip"]
        .as_object()
        .expect("the clip config")
        .clone();
    fields.insert("size".to_owned(), json!({ "shortest_edge": 224 }));
    fields.insert("crop_size".to_owned(), json!({ "height": 224, "width": 224 }));
    ImageConfig::from_fields(&fields).expect("a valid config")
}

fn image(c: &mut Criterion) {
    aml_scorer::memory::keep_freed_pages();
    let jpeg = std::fs::read(repo("tests/fixtures/hf_image/images/photo640x480.jpg")).unwrap();
    let config = clip_224();
    let size = config.output_size().expect("CLIP crops to a fixed size");
    assert_eq!(size, (224, 224));
    c.bench_function("hf/image_jpeg_640x480_to_224", |b| {
        b.iter(|| {
            let rgb = decode_rgb(black_box(&jpeg), 40_000_000).expect("the JPEG decodes");
            let mut tensor = Vec::with_capacity(3 * 224 * 224);
            to_tensor(rgb, &config, size, Layout::ChannelsFirst, &mut tensor).expect("preprocessed");
            tensor
        })
    });
}

fn tokenize(c: &mut Criterion) {
    aml_scorer::memory::keep_freed_pages();
    let folder = repo("tests/fixtures/hf_text/classifier");
    let inner = OnnxModel::load(&folder.join("model.onnx")).expect("the classifier loads");
    let Ok(Ok(model)) = TextModel::load(&folder, inner) else {
        panic!("the classifier folder has a tokenizer")
    };
    let sentences: Vec<String> = std::fs::read_to_string(repo("benches/hf-sentences.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(sentences.len(), 32);
    c.bench_function("hf/tokenize_32_sentences", |b| {
        b.iter(|| model.tokenize(black_box(&sentences), None).expect("tokenized"))
    });
}

criterion_group!(benches, image, tokenize);
criterion_main!(benches);
