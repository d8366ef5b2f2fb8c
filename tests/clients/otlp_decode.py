"""Decodes OTLP/HTTP trace exports with the OpenTelemetry project's own protobuf types.

Usage: otlp_decode.py BODY_FILE...  (each file one ExportTraceServiceRequest, as POSTed to
/v1/traces). Prints one JSON list of spans: ids as hex, the resource's and the span's attributes
as plain values, the kind's name, the status code's name and the events' names. A body that is
not an ExportTraceServiceRequest fails the script (exit 1).
"""

import json
import sys

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(pairs):
    return {pair.key: value(pair.value) for pair in pairs}


def main(paths):
    spans = []
    for path in paths:
        request = ExportTraceServiceRequest()
        with open(path, "rb") as body:
            request.ParseFromString(body.read())
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "resource": resource,
                            "scope": scope_spans.scope.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "kind": Span.SpanKind.Name(span.kind),
                            "attributes": attributes(span.attributes),
                            "status": Status.StatusCode.Name(span.status.code),
                            "events": [event.name for event in span.events],
                            "duration_ns": span.end_time_unix_nano - span.start_time_unix_nano,
                        }
                    )
    json.dump(spans, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: otlp_decode.py BODY_FILE...")
    main(sys.argv[1:])
