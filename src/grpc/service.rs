//! The six calls of `inference.GRPCInferenceService`, answered as their REST routes answer
//! (`api::v2`), from the same state.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::infer::InferCodec;
use super::messages::{
    model_metadata_response::TensorMetadata, ModelInferResponse, ModelMetadataRequest, ModelMetadataResponse,
    ModelReadyRequest, ModelReadyResponse, ServerLiveRequest, ServerLiveResponse, ServerMetadataRequest,
    ServerMetadataResponse, ServerReadyRequest, ServerReadyResponse,
};
use super::observe::CallContext;
use super::outcome::Outcome;
use super::server::grpc_inference_service_server::GrpcInferenceService;
use super::InferBody;
use crate::api::request_id::RequestId;
use crate::api::v2::datatype;
use crate::api::{ApiError, AppState, Charged, CHARGE_PER_BODY_BYTE};
use crate::model::{Scorer, TensorSpec};

/// The service over the server's state.
pub(crate) struct Inference {
    state: AppState,
}

impl Inference {
    pub(super) fn new(state: AppState) -> Self {
        Inference { state }
    }

    /// The scorer, once `init` is done.
    fn scorer(&self) -> Result<Arc<Scorer>, ApiError> {
        self.state.readiness.scorer().cloned().ok_or(ApiError::NotReady)
    }

    /// The scorer, if `name` is our model's and it is loaded.
    fn model(&self, name: &str) -> Result<Arc<Scorer>, ApiError> {
        if name != self.state.model_name.as_ref() {
            return Err(ApiError::UnknownModel {
                asked: name.to_owned(),
                served: self.state.model_name.to_string(),
            });
        }
        self.scorer()
    }
}

/// What `Observed` put in the call's extensions.
fn context<T>(request: &Request<T>) -> CallContext {
    request
        .extensions()
        .get::<CallContext>()
        .cloned()
        .unwrap_or_default()
}

/// The call's outcome slot.
fn outcome<T>(request: &Request<T>) -> Outcome {
    request
        .extensions()
        .get::<CallContext>()
        .map(|call| call.outcome.clone())
        .unwrap_or_default()
}

fn describe(tensor: &TensorSpec) -> TensorMetadata {
    TensorMetadata {
        name: tensor.name.clone(),
        datatype: datatype(tensor.element).to_owned(),
        shape: tensor.v2_shape(),
    }
}

#[tonic::async_trait]
impl GrpcInferenceService for Inference {
    async fn server_live(
        &self,
        _request: Request<ServerLiveRequest>,
    ) -> Result<Response<ServerLiveResponse>, Status> {
        Ok(Response::new(ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _request: Request<ServerReadyRequest>,
    ) -> Result<Response<ServerReadyResponse>, Status> {
        let ready = self.state.readiness.is_ready();
        Ok(Response::new(ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: Request<ModelReadyRequest>,
    ) -> Result<Response<ModelReadyResponse>, Status> {
        self.model(&request.get_ref().name)
            .map_err(|error| outcome(&request).failed(&error))?;
        Ok(Response::new(ModelReadyResponse { ready: true }))
    }

    async fn server_metadata(
        &self,
        _request: Request<ServerMetadataRequest>,
    ) -> Result<Response<ServerMetadataResponse>, Status> {
        Ok(Response::new(ServerMetadataResponse {
            name: "aml-scorer".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            extensions: Vec::new(),
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<ModelMetadataRequest>,
    ) -> Result<Response<ModelMetadataResponse>, Status> {
        let name = &request.get_ref().name;
        let scorer = self
            .model(name)
            .map_err(|error| outcome(&request).failed(&error))?;
        let spec = scorer.model().spec();
        Ok(Response::new(ModelMetadataResponse {
            name: name.clone(),
            versions: vec!["1".to_owned()],
            platform: "onnx".to_owned(),
            inputs: spec.inputs.iter().map(describe).collect(),
            outputs: spec.outputs.iter().map(describe).collect(),
        }))
    }

    async fn model_infer(&self, request: Request<InferBody>) -> Result<Response<ModelInferResponse>, Status> {
        let CallContext {
            request_id,
            outcome,
            handover,
        } = context(&request);
        // What the message was charged as it arrived (as an HTTP body of its size is), corrected
        // to the decoded tensors' size by `Charged`.
        let (mut charge, charged) = handover.take();
        let body = request.into_inner().0;
        let scored = async {
            let scorer = self.scorer()?;
            let budget = &self.state.budget;
            // `Charged` expects the message charged twice over. The body charged it so as it
            // arrived, and a compressed one's inflated bytes as they were inflated (`inflate.rs`):
            // this tops up only a charge short of that, which no call through `Observed` is.
            let wanted = body.len() as u64 * CHARGE_PER_BODY_BYTE;
            budget.grow(&mut charge, wanted.saturating_sub(charged)).await?;
            let codec = Charged {
                codec: InferCodec {
                    body: body.clone(),
                    model_name: self.state.model_name.clone(),
                    id: String::new(),
                    outputs: Vec::new(),
                    budget: budget.clone(),
                },
                charge,
                budget: budget.clone(),
            };
            let request_id = request_id.as_ref().map_or("", RequestId::as_str);
            // The message arrived whole before the call (tonic's decoding): counted from here.
            scorer.score_as(scorer.arrived(), request_id, body, codec).await
        };
        let scored = scored.await.map_err(|error: ApiError| outcome.failed(&error))?;
        outcome.scored(scored.rows);
        let mut response = Response::new(scored.answer);
        let elapsed_ms = u64::try_from(scored.elapsed.as_millis()).unwrap_or(u64::MAX);
        response
            .metadata_mut()
            .insert("x-ms-run-fn-exec-ms", elapsed_ms.into());
        Ok(response)
    }
}
