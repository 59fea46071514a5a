#!/usr/bin/env python3
"""A plugin for the hyper-parameter tests. argv: a mode (plain, or early),
then manifest.json and results.json. The initial stage scores -depth and asks
for a stage refine with a dataset later; refine scores depth * 10 and says
which folder downloadUrls.initial is and which datasets it sees. In mode
early, refine says stopEarly when depth is 2."""

import json
import sys

mode, manifest_path, results_path = sys.argv[1], sys.argv[2], sys.argv[3]
with open(manifest_path) as f:
    m = json.load(f)
depth = m["inputParams"]["depth"]
if m["stage"] == "initial":
    out = {"status": {"code": "success"}, "data": {"depth": depth}, "score": -depth,
           "stages": {"refine": {"datasets": {"later": {"moment": {"type": "latest"}}}}}}
else:
    out = {"status": {"code": "success"}, "score": depth * 10.0, "stopEarly": mode == "early" and depth == 2,
           "data": {"depth": depth, "initial": m["downloadUrls"]["initial"], "upload": m["getUploadUrls"][m["stage"]],
                    "datasets": sorted(m["dataUrls"])}}
with open(results_path, "w") as f:
    json.dump(out, f)
