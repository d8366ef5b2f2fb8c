//! `/score`: the Azure ML contract. The body (or `?data=` query) goes to the scorer with the
//! codec below; the answer is a JSON array of predictions.

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::{
    body::read_request_body, budget::Charged, compression, observe::ScoredRows, request_id::RequestId,
    ApiError, AppState,
};
use crate::api::ScoreMethod as Method;
use crate::model::{parse_scoring_request, Answered, Batch, Codec, Envelope, Predictions, Predictor, Scored};

mod answer;

use answer::{method, Selection};

const EXEC_TIME_HEADER: HeaderName = HeaderName::from_static("x-ms-run-fn-exec-ms");

/// Any request form in; the chosen outputs out, wrapped as the form expects.
struct ScoreCodec {
    /// `?method=`; it wins over a body's own method (AutoML's `GlobalParameters`), which wins
    /// over the server's setting.
    query_method: Option<Method>,
    default_method: Method,
    /// `?outputs=`.
    outputs: Option<String>,
    /// `?top_k=`: a list of the k best labels per item.
    top_k: Option<usize>,
    /// What to answer and how to wrap it, set by `decode`.
    answer: Option<(Selection, Envelope)>,
    /// What the answer holds, for data collection, set by `decode`.
    answered: Option<Answered>,
}

impl Codec for ScoreCodec {
    type Answer = Vec<u8>;
    type Error = ApiError;

    fn decode(&mut self, body: &[u8], model: &dyn Predictor) -> Result<Batch, ApiError> {
        let request = parse_scoring_request(body, model.spec())?;
        let method = match (self.query_method, &request.method) {
            (Some(chosen), _) => chosen,
            (None, Some(name)) => method(name)?,
            (None, None) => self.default_method,
        };
        let selection = Selection::new(model, method, self.outputs.as_deref(), self.top_k)?;
        self.answered = Some(selection.answered(method));
        self.answer = Some((selection, request.envelope));
        Ok(request.batch)
    }

    fn encode(self, predictions: Predictions, model: &dyn Predictor) -> Result<Vec<u8>, ApiError> {
        let (selection, envelope) = self.answer.expect("decode runs before encode");
        // AutoML's image form answers AutoML's way when the answer is the model's first output
        // and config.json labels it; otherwise the output as any form answers it.
        if let (Envelope::AutoMlImages, Selection::One(0) | Selection::Labels { top_k: None }, Some(config)) =
            (envelope, &selection, model.labels())
        {
            if let Some(answer) =
                answer::write_automl_images(&predictions.outputs[0], predictions.rows, config)
            {
                return Ok(answer);
            }
        }
        selection.write(envelope, &predictions, model)
    }

    fn answered(&self, model: &dyn Predictor) -> Answered {
        self.answered
            .clone()
            .unwrap_or_else(|| Answered::all(model.spec()))
    }

    fn feature_names(&self, body: &[u8], model: &dyn Predictor) -> Option<Vec<String>> {
        model.spec().numeric_matrix()?;
        answer::split_columns(body)
    }
}

/// The query parameters of `/score`: `data` (GET), `method`, `outputs`, `top_k`.
#[derive(Default)]
struct ScoreQuery {
    data: Option<String>,
    method: Option<String>,
    outputs: Option<String>,
    top_k: Option<String>,
}

impl ScoreQuery {
    fn parse(query: Option<&str>) -> Self {
        let mut parsed = ScoreQuery::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match key.as_ref() {
                "data" => &mut parsed.data,
                "method" => &mut parsed.method,
                "outputs" => &mut parsed.outputs,
                "top_k" => &mut parsed.top_k,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        parsed
    }

    fn codec(&self, state: &AppState) -> Result<ScoreCodec, ApiError> {
        Ok(ScoreCodec {
            query_method: self.method.as_deref().map(method).transpose()?,
            default_method: state.score_method,
            outputs: self.outputs.clone(),
            top_k: self.top_k.as_deref().map(top_k).transpose()?,
            answer: None,
            answered: None,
        })
    }
}

/// `POST /score`: any Content-Type is read as JSON, as the Azure ML server does; a gzip or
/// deflate body (`Content-Encoding`) is inflated first.
pub async fn score_body(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    id: RequestId,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let scorer = state.readiness.scorer().ok_or(ApiError::NotReady)?;
    let arrived = scorer.arrived();
    let codec = ScoreQuery::parse(query.as_deref()).codec(&state)?;
    let (parts, body) = request.into_parts();
    let (bytes, charge) = read_request_body(&parts.headers, body, &state)
        .await
        .map_err(|e| e.for_model(scorer.model().spec()))?;
    let codec = Charged {
        codec,
        charge,
        budget: state.budget.clone(),
    };
    let answer = scored(scorer.score_as(arrived, id.as_str(), bytes, codec).await?);
    compression::compress_answer(
        compression::accepted(&parts.headers),
        state.attaches_answers(),
        answer,
    )
    .await
}

/// `GET /score`: `?data=[[...]]` is scored like a body; without it, how to call the endpoint.
pub async fn score_query(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    id: RequestId,
) -> Result<Response, ApiError> {
    let query = ScoreQuery::parse(query.as_deref());
    let Some(data) = &query.data else {
        return Ok(usage(&state));
    };
    let scorer = state.readiness.scorer().ok_or(ApiError::NotReady)?;
    let codec = query.codec(&state)?;
    let body = Bytes::from(format!("{{\"data\": {data}}}"));
    Ok(scored(
        scorer
            .score_as(scorer.arrived(), id.as_str(), body, codec)
            .await?,
    ))
}

/// `OPTIONS /score`: 200, with the methods the route takes.
pub async fn options() -> impl IntoResponse {
    (StatusCode::OK, [(header::ALLOW, "GET, POST, OPTIONS")])
}

/// `?top_k=N`, a positive count.
fn top_k(text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>()
        .ok()
        .filter(|&k| k > 0)
        .ok_or_else(|| ApiError::BadRequest(format!("top_k must be a positive whole number, not {text:?}")))
}

fn usage(state: &AppState) -> Response {
    let spec = state.readiness.scorer().map(|s| s.model().spec());
    let text = match spec.filter(|spec| spec.numeric_matrix().is_none()) {
        Some(spec) => {
            let columns: Vec<String> = spec
                .inputs
                .iter()
                .map(|i| format!("{} ({})", i.name, i.element))
                .collect();
            format!(
                "POST a JSON body {{\"data\": [{{\"column\": value, ...}}, ...]}} to /score (one record per \
                 prediction; columns, rows and the MLflow and AutoML forms work too). The model's columns: {}. \
                 ?method=predict_proba answers a classifier's probabilities.\n",
                columns.join(", ")
            )
        }
        None => {
            let width = spec.map_or_else(|| "k".to_owned(), |s| s.row_width().to_string());
            format!(
                "POST a JSON body {{\"data\": [[x1, ..., x{width}], ...]}} to /score (one row per prediction); \
                 the answer is a JSON array with one prediction per row. GET /score?data=[[...]] works too.\n"
            )
        }
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The 200 answer with the execution-time header, and the rows for the access log.
fn scored(scored: Scored<Vec<u8>>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        (EXEC_TIME_HEADER, milliseconds(scored.elapsed)),
    ];
    let mut response = (StatusCode::OK, headers, scored.answer).into_response();
    response.extensions_mut().insert(ScoredRows(scored.rows));
    response
}

/// `elapsed` in milliseconds with three decimals (`0.042`), written without an allocation.
fn milliseconds(elapsed: std::time::Duration) -> HeaderValue {
    use std::io::Write;
    let micros = elapsed.as_micros();
    let mut text = [0u8; 48];
    let mut cursor = std::io::Cursor::new(&mut text[..]);
    write!(cursor, "{}.{:03}", micros / 1000, micros % 1000).expect("48 bytes hold any u128 pair");
    let written = cursor.position() as usize;
    HeaderValue::from_bytes(&text[..written]).expect("digits and a dot are a valid header value")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn execution_time_is_written_in_milliseconds_with_three_decimals() {
        assert_eq!(super::milliseconds(Duration::from_nanos(42_900)), "0.042");
        assert_eq!(
            super::milliseconds(Duration::from_micros(12_345_678)),
            "12345.678"
        );
        assert_eq!(super::milliseconds(Duration::ZERO), "0.000");
    }
}
