//! Operations in Azure ML (SPEC 12) over the real server: CORS, and request telemetry to
//! Application Insights and OTLP stand-ins that decode what they receive with the real formats.

mod app_insights;
mod cors;
mod otlp;
mod stand_in;
