#!/usr/bin/env bash
# Azure Monitor autoscale for an aml-scorer deployment on a managed online endpoint, as Azure's
# "Autoscale online endpoints" how-to sets it up: scale out on CPU and on the endpoint's requests
# per minute, scale in on low CPU.
#
# Usage: RESOURCE_GROUP=... WORKSPACE=... deploy/azureml/autoscale.sh [ENDPOINT] [DEPLOYMENT]
# (defaults: aml-scorer-endpoint, blue; the names in endpoint.yml and deployment.yml).
#
# The numbers come from BENCHMARKS.md. The server is CPU-bound, so CPU is the main signal: at
# 70 % one Standard_F2s_v2 instance still answers the sample at p99 under 5 ms (one core alone
# holds 10,000-20,000 requests/s). The requests-per-minute rule adds an instance before CPU
# shows it when the endpoint's traffic passes what the minimum instances hold at that load:
# 2 instances x 10,000 requests/s x 60 x 70 % = 840,000 a minute.
set -euo pipefail
endpoint="${1:-aml-scorer-endpoint}"
deployment="${2:-blue}"
: "${RESOURCE_GROUP:?set RESOURCE_GROUP}"
: "${WORKSPACE:?set WORKSPACE}"
min_instances="${MIN_INSTANCES:-2}"
max_instances="${MAX_INSTANCES:-10}"
per_instance_rpm="${PER_INSTANCE_RPM:-420000}" # 10,000 requests/s x 60 x 70 %
settings="${endpoint}-${deployment}-autoscale"
where=(--resource-group "$RESOURCE_GROUP" --workspace-name "$WORKSPACE")

endpoint_id="$(az ml online-endpoint show --name "$endpoint" "${where[@]}" --query id --output tsv)"
deployment_id="$(az ml online-deployment show --endpoint-name "$endpoint" --name "$deployment" "${where[@]}" --query id --output tsv)"

az monitor autoscale create --resource-group "$RESOURCE_GROUP" --name "$settings" \
  --resource "$deployment_id" --min-count "$min_instances" --max-count "$max_instances" --count "$min_instances"

rule() {
  az monitor autoscale rule create --resource-group "$RESOURCE_GROUP" --autoscale-name "$settings" "$@"
}
# CPU across the deployment's instances: out by 2 above 70 %, in by 1 below 25 %.
rule --condition "CpuUtilizationPercentage > 70 avg 5m" --scale out 2
rule --condition "CpuUtilizationPercentage < 25 avg 10m" --scale in 1 --cooldown 10
# Requests per minute on the endpoint, for this deployment.
rule --resource "$endpoint_id" \
  --condition "RequestsPerMinute > $((min_instances * per_instance_rpm)) avg 5m where deployment == $deployment" \
  --scale out 1
echo "autoscale $settings: $min_instances-$max_instances instances of $endpoint/$deployment"
