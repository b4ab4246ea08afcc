#!/bin/sh
# A Locust worker of docker-compose.yml. `docker compose up --scale locust-worker=N` starts N
# of these; each writes its operations to a file named after its container, so no two
# workers ever append to one file, and the `stream` service reads them all.
set -eu
base=/lab/containers/locust/workload.json
own=/tmp/workload.json
python - "$base" "$own" <<'PY'
import json, socket, sys
workload = json.load(open(sys.argv[1]))
workload["operations_path"] = f"/runs/compose/operations.part-{socket.gethostname()}.jsonl"
json.dump(workload, open(sys.argv[2], "w"))
PY
exec python -m locust -f scenarios/load/locustfile.py --worker \
  --master-host "${LOCUST_MASTER_HOST:-locust-master}" --ticketlab-workload "$own"
