"""Before/after check of two aml-scorer binaries in one run: the same requests, alternating A and B
so that the machine's drift hits both alike. Medians of the repeats; both at their default
settings (log level info, JSON lines to a file), as users run them.

    python3 benches/compare.py --before OLD_BINARY --after NEW_BINARY [--seconds 5] [--repeats 3]
"""

import argparse
import json
import statistics
import sys

from bench import SAMPLE, Server, big_request, timed_requests, wrk

V2_BODY = json.dumps({
    "inputs": [{"name": "input", "shape": [2, 10], "datatype": "FP64",
                "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]}],
}).encode()


def measure(binary, seconds, big_body, log_level):
    env = {"AML_SCORER_LOG_FORMAT": "json", "AZUREML_LOG_LEVEL": log_level}
    server = Server(binary, [binary, "--host", "127.0.0.1", "--grpc-port", "0"], env)
    server.start()
    try:
        out = {
            "score c=8": wrk(server.port, 8, True, seconds),
            "score c=64": wrk(server.port, 64, True, seconds),
            "v2 c=64": wrk(server.port, 64, True, seconds, body=V2_BODY, path="/v2/models/sklearn_regression_model/infer"),
        }
        ms, _ = timed_requests(server.port, big_body, 3)
        out["228,000 rows (ms)"] = (ms * 1000, 0, 0)
        return out
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--log-level", default="info", help="the servers' AZUREML_LOG_LEVEL (default: info, as users run)")
    args = parser.parse_args()
    big_body, _ = big_request(228000)
    runs = {"before": [], "after": []}
    for repeat in range(args.repeats):
        for label in ("before", "after"):
            print(f"== {label} run {repeat + 1}", file=sys.stderr)
            runs[label].append(measure(getattr(args, label), args.seconds, big_body, args.log_level))
    print("| measure | before | after | after / before |")
    print("| --- | ---: | ---: | ---: |")
    for key in runs["before"][0]:
        before = statistics.median(r[key][0] for r in runs["before"])
        after = statistics.median(r[key][0] for r in runs["after"])
        unit = "" if "ms" in key else " req/s"
        print(f"| {key}{unit} | {before:,.1f} | {after:,.1f} | {after / before:.2f} |")
        if "ms" not in key:
            p99 = [statistics.median(r[key][2] for r in runs[label]) for label in ("before", "after")]
            print(f"| {key} p99 (ms) | {p99[0]:.2f} | {p99[1]:.2f} | {p99[1] / p99[0]:.2f} |")


if __name__ == "__main__":
    main()
