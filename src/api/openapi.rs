//! `GET /swagger.json`: the OpenAPI document, generated from the route table and the loaded
//! model (its input width, or its columns and their types), as Swagger 2.0 by default or
//! OpenAPI 3 with `?version=3`, like the Azure ML inference server.

use std::collections::BTreeMap;

use axum::{
    extract::{Query, State},
    Json,
};
use serde_json::{json, Map, Value};

use super::{routes::Content, AppState, OPERATIONS};
use crate::model::{ElementType, ModelSpec, TensorSpec};

#[derive(serde::Deserialize)]
pub struct VersionQuery {
    version: Option<String>,
}

pub async fn swagger(State(state): State<AppState>, Query(query): Query<VersionQuery>) -> Json<Value> {
    let scorer = state.readiness.scorer();
    let openapi3 = query.version.as_deref().is_some_and(|v| v.starts_with('3'));
    let mut doc = document(scorer.map(|s| s.model().spec()), openapi3);
    if let Some(config) = scorer.and_then(|s| s.model().labels()) {
        describe_labels(&mut doc, &config.labels, openapi3);
    }
    Json(doc)
}

/// A model with `config.json` labels (SPEC 10) answers `/score` with labels and scores: the
/// 200 schema of `POST /score` says so, with its labels.
fn describe_labels(doc: &mut Value, labels: &[String], openapi3: bool) {
    let item = json!({
        "type": "object",
        "properties": { "label": { "type": "string", "enum": labels }, "score": { "type": "number" } },
        "required": ["label", "score"],
    });
    let answer = json!({
        "type": "array",
        "description": "Per item its best label and score; with ?top_k=N a list of the N best, best first. \
                        ?outputs=a,b answers raw outputs by name",
        "items": { "oneOf": [item, { "type": "array", "items": item }] },
    });
    let ok = &mut doc["paths"][super::SCORING_PATH]["post"]["responses"]["200"];
    if openapi3 {
        ok["content"]["application/json"]["schema"] = answer;
    } else {
        ok["schema"] = answer;
    }
}

/// The example row count and values: the sample request's first row, cut or padded to `width`.
fn example_input(width: usize) -> Value {
    let row = |start: usize| {
        (0..width)
            .map(|i| json!(((start + i) % 10) + 1))
            .collect::<Vec<_>>()
    };
    json!({ "data": [row(0), row(5)] })
}

/// The JSON Schema type of an element.
fn json_type(element: ElementType) -> Value {
    match element {
        ElementType::F32 | ElementType::F64 | ElementType::F16 => json!({ "type": "number" }),
        ElementType::I8 | ElementType::U8 | ElementType::I16 | ElementType::I32 | ElementType::I64 => {
            json!({ "type": "integer" })
        }
        ElementType::Bool => json!({ "type": "boolean" }),
        ElementType::String => json!({ "type": "string" }),
    }
}

/// An example value of an element type.
fn example_value(element: ElementType) -> Value {
    match element {
        ElementType::Bool => json!(true),
        ElementType::String => json!("a"),
        _ => json!(1),
    }
}

fn schema(content: Content, model: Option<&ModelSpec>) -> Option<Value> {
    let message = json!({ "type": "object", "properties": { "message": { "type": "string" } }, "required": ["message"] });
    Some(match content {
        Content::Empty => return None,
        Content::Text => json!({ "type": "string" }),
        Content::Json => json!({ "type": "object" }),
        Content::Message => message,
        Content::V2Error => json!({ "type": "object", "properties": { "error": { "type": "string" } } }),
        Content::ScoreOutput => {
            let first = model.and_then(|m| m.outputs.first());
            let items = first.map_or_else(|| json!({ "type": "number" }), |o| json!({ "oneOf": [json_type(o.element), { "type": "array", "items": json_type(o.element) }] }));
            let sample = model.is_some_and(|m| m.numeric_matrix() == Some((10, ElementType::F64)));
            json!({
                "type": "array",
                "description": "One prediction per row (an array per row for outputs with several values per row); ?method=predict_proba answers a classifier's probabilities, ?outputs=a,b an object keyed by output name",
                "items": items,
                "example": if sample { json!([11055.977245525679, 4503.079536107787]) } else { json!([]) },
            })
        }
    })
}

/// `{"data": [[...], ...]}` for a model of one numeric matrix input; records, one property per
/// column, for a model of one input per column.
fn input_schema(model: Option<&ModelSpec>) -> Value {
    if let Some([input]) = model.map(|m| m.inputs.as_slice()) {
        if crate::hf::image::takes_images(input) {
            return image_schema();
        }
    }
    if let Some(model) = model.filter(|m| !m.is_tabular()) {
        return tensor_schema(model);
    }
    let Some(model) = model.filter(|m| m.numeric_matrix().is_none()) else {
        return matrix_schema(model.map(ModelSpec::row_width));
    };
    let columns: Map<String, Value> = model
        .inputs
        .iter()
        .map(|input| {
            let mut schema = json_type(input.element);
            if input.optional {
                schema["description"] = json!(format!(
                    "optional: every record of a request sends {:?} or none does",
                    input.name
                ));
            }
            (input.name.clone(), schema)
        })
        .collect();
    let record: Map<String, Value> = model
        .inputs
        .iter()
        .filter(|input| !input.optional)
        .map(|input| (input.name.clone(), example_value(input.element)))
        .collect();
    let names: Vec<&str> = model
        .inputs
        .iter()
        .filter(|i| !i.optional)
        .map(|i| i.name.as_str())
        .collect();
    json!({
        "type": "object",
        "required": ["data"],
        "description": "Records, one object per row (columns, rows and the MLflow and AutoML forms are taken too)",
        "properties": { "data": { "type": "array", "items": {
            "type": "object",
            "properties": columns,
            "required": names,
        } } },
        "example": { "data": [record] },
    })
}

/// An image model (`preprocessor_config.json`): base64 images, in AutoML's form or any other.
fn image_schema() -> Value {
    let images = json!({ "type": "array", "items": { "type": "string", "format": "byte" } });
    json!({
        "type": "object",
        "description": "Base64 images (JPEG, PNG, WebP, BMP, GIF) in AutoML's form, answered \
                        [{\"probs\": [...], \"labels\": [...]}] per image with config.json's labels; \
                        {\"data\": [\"<base64>\", ...]} and records {\"image\": \"<base64>\"} answer the model's outputs",
        "properties": { "input_data": { "type": "object", "properties": {
            "columns": { "type": "array", "items": { "type": "string", "enum": ["image"] } },
            "data": images,
        } } },
        "example": { "input_data": { "columns": ["image"], "data": ["<base64 image>"] } },
    })
}

/// Nested lists of `dims` (each fixed size as `minItems`/`maxItems`) of `element`.
fn nested(element: ElementType, dims: &[Option<usize>]) -> Value {
    dims.iter().rev().fold(json_type(element), |inner, dim| {
        let mut list = json!({ "type": "array", "items": inner });
        if let Some(dim) = dim {
            list["minItems"] = json!(dim);
            list["maxItems"] = json!(dim);
        }
        list
    })
}

/// A model of tensors: `{"data": [item, ...]}` for one input, named inputs otherwise; each
/// input's schema carries its shape (`x-shape`, -1 for a symbolic dimension).
fn tensor_schema(model: &ModelSpec) -> Value {
    let schema = |input: &TensorSpec| {
        let mut schema = if input.is_scalar() {
            json_type(input.element)
        } else {
            json!({ "type": "array", "items": nested(input.element, input.item_dims()) })
        };
        schema["x-shape"] = json!(input.v2_shape());
        schema["description"] = json!(format!("{} {}", input.element, input.shape_text()));
        schema
    };
    if let [input] = model.inputs.as_slice() {
        return json!({
            "type": "object",
            "required": ["data"],
            "description": "One item per prediction: nested lists of the input's shape without its batch dimension",
            "properties": { "data": schema(input) },
        });
    }
    let inputs: Map<String, Value> = model.inputs.iter().map(|i| (i.name.clone(), schema(i))).collect();
    let names: Vec<&str> = model.inputs.iter().map(|i| i.name.as_str()).collect();
    json!({
        "type": "object",
        "required": ["input_data"],
        "description": "Every input by name, the same number of items in each (records of named inputs work too)",
        "properties": { "input_data": { "type": "object", "properties": inputs, "required": names } },
    })
}

fn matrix_schema(width: Option<usize>) -> Value {
    let mut row = json!({ "type": "array", "items": { "type": "number", "format": "double" } });
    if let Some(width) = width {
        row["minItems"] = json!(width);
        row["maxItems"] = json!(width);
        row["description"] = json!(format!("One row of {width} features"));
    }
    let mut input = json!({
        "type": "object",
        "required": ["data"],
        "properties": { "data": { "type": "array", "items": row } },
    });
    if let Some(width) = width {
        input["example"] = example_input(width);
    }
    input
}

/// Builds the document; `model` is known once `init` is done.
pub fn document(model: Option<&ModelSpec>, openapi3: bool) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for op in &OPERATIONS {
        let mut responses = Map::new();
        for (status, description, body) in op.responses {
            let mut response = json!({ "description": description });
            if let Some(schema) = schema(*body, model) {
                if openapi3 {
                    response["content"] = json!({ "application/json": { "schema": schema } });
                } else {
                    response["schema"] = schema;
                }
            }
            responses.insert(status.to_string(), response);
        }
        let mut operation = json!({ "summary": op.summary, "responses": responses });
        let path = op.path.to_owned();
        if op.path.contains("{name}") {
            let param = json!({ "name": "name", "in": "path", "required": true, "type": "string" });
            operation["parameters"] = json!([if openapi3 {
                json!({ "name": "name", "in": "path", "required": true, "schema": { "type": "string" } })
            } else {
                param
            }]);
        }
        if op.path == super::SCORING_PATH && op.method == axum::http::Method::POST {
            let input = input_schema(model);
            if openapi3 {
                operation["requestBody"] =
                    json!({ "required": true, "content": { "application/json": { "schema": input } } });
            } else {
                operation["parameters"] =
                    json!([{ "name": "body", "in": "body", "required": true, "schema": input }]);
            }
        }
        paths
            .entry(path)
            .or_default()
            .insert(op.method.as_str().to_ascii_lowercase(), operation);
    }
    let info = json!({
        "title": "aml-scorer",
        "description": "Scoring server for Azure Machine Learning online endpoints",
        "version": env!("CARGO_PKG_VERSION"),
    });
    if openapi3 {
        json!({ "openapi": "3.0.3", "info": info, "paths": paths })
    } else {
        json!({
            "swagger": "2.0",
            "info": info,
            "schemes": ["https", "http"],
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "paths": paths,
        })
    }
}
