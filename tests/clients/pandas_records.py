"""Reads a collected payload with pandas and checks it is the frame azureml-ai-monitoring would
have sent for the same request: `score.py` builds `pd.DataFrame(rows)` (or `.from_records`) and
the library sends `df.to_json(orient="records")`; both are read back with `pd.read_json`.

Usage: pandas_records.py rows|records '<payload JSON>' '<the request's data JSON>'
"""

import io
import json
import sys

import pandas as pd

mode, payload, data = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
frame = pd.DataFrame(data) if mode == "rows" else pd.DataFrame.from_records(data)
library = pd.read_json(io.StringIO(frame.to_json(orient="records")), orient="records")
ours = pd.read_json(io.StringIO(payload), orient="records")
pd.testing.assert_frame_equal(ours, library, check_dtype=False, rtol=1e-6)
print(f"{len(ours)} rows, columns {list(ours.columns)}: the library's frame")
