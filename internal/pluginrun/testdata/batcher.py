#!/usr/bin/env python3
"""A plugin for the batch phase tests: the initial stage answers the users of
its dataset (data.users) and asks for batches of at most 1,000 users (the least allowed); each batch
reads its range of the batch dataset and scores every user in it (property
"seen", the batches' option score), uploading data.json through the upload
URL as the protocol says."""

import json
import sys
import urllib.request

manifest_path, results_path = sys.argv[1], sys.argv[2]
with open(manifest_path) as f:
    m = json.load(f)


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


stage = m["stage"]
if stage == "initial":
    rows = json.loads(get(m["dataUrls"]["initial"]))["data"]
    out = {"status": {"code": "success"}, "data": {"users": sorted(r[0] for r in rows)},
           "batches": {"maxBatchSize": 1000, "options": {"score": 1.0}}}
elif stage == "batch":
    rows = json.loads(get(m["dataUrls"]["batch"]))["data"]
    score = m["options"]["score"]
    data = json.dumps({"category": "Test", "properties": ["seen"],
                       "updates": [[r[0], score] for r in rows]}).encode()
    put = get(m["getUploadUrls"]["batch"] + "/data.json").decode().strip()
    req = urllib.request.Request(put, data=data, method="PUT")
    urllib.request.urlopen(req, timeout=60).read()
    out = {"status": {"code": "success"}}
else:
    out = {"status": {"code": "error", "title": "Unknown stage", "explanation": stage}}
with open(results_path, "w") as f:
    json.dump(out, f)
