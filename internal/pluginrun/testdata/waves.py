#!/usr/bin/env python3
"""A plugin for the parallel batch test. argv: a folder where each batch
records when it ran, then manifest.json and results.json. The initial stage
asks for batches of 1,000 users (the least allowed). Each batch records its
start, scores every user of its range with the user's random column and the
batch's index (properties "random" and "batch"), uploads data.json, waits a
moment (so that batches run at once overlap) and records its end."""

import json
import os
import sys
import time
import urllib.request

times, manifest_path, results_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(manifest_path) as f:
    m = json.load(f)


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


if m["stage"] == "initial":
    out = {"status": {"code": "success"}, "batches": {"maxBatchSize": 1000}}
else:
    index = m["metadata"]["batch"]["index"]
    start = time.time()
    rows = json.loads(get(m["dataUrls"]["batch"]))["data"]
    data = json.dumps({"category": "Waves", "properties": ["random", "batch"],
                       "updates": [[r[0], r[5], index] for r in rows]}).encode()
    put = get(m["getUploadUrls"]["batch"] + "/data.json").decode().strip()
    urllib.request.urlopen(urllib.request.Request(put, data=data, method="PUT"), timeout=60).read()
    time.sleep(0.5)
    with open(os.path.join(times, "batch-%d.json" % index), "w") as f:
        json.dump({"start": start, "end": time.time()}, f)
    out = {"status": {"code": "success"}}
with open(results_path, "w") as f:
    json.dump(out, f)
