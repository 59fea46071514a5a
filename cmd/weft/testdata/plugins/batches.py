"""A test plugin: asks for batches of 1,000 users, and in each batch
writes the property "batch" (the batch's index) on its users. inputParams:
log (a file each batch start is appended to), fail_batch (a batch index
that fails), sleep (seconds each batch waits before it uploads), and mode:
"stages" asks for two additional stages (train_more, with a dataset of its
own, asks for the batches and uploads a file the batches read; evaluate
only answers data, from a dataset at the moment 3600 seconds after each
user's first event), "bad_size" asks for batches of 999 users,
"bad_moment" for a percentile dataset without a goal."""
import datetime
import json
import sys
import time
import urllib.request

manifest = json.load(open(sys.argv[1]))
params = manifest.get("inputParams") or {}


def done(status, **extra):
    json.dump(dict(status=status, **extra), open(sys.argv[2], "w"))


mode = params.get("mode", "")
stage = manifest["stage"]
if stage == "initial" and mode == "stages":
    done({"code": "success"}, data={"summary": "ready"},
         stages={"train_more": {"datasets": {"extra": {"moment": {"type": "latest"}}}},
                 "evaluate": {"datasets": {"early": {"moment": {"type": "since", "seconds": 3600}}}}})
    sys.exit(0)
if stage == "initial" and mode == "bad_moment":
    done({"code": "success"}, stages={"evaluate": {"datasets": {"p": {"moment": {"type": "percentile", "percent": 95}}}}})
    sys.exit(0)
if stage == "initial":
    done({"code": "success"}, data={"summary": "ready"},
         batches={"maxBatchSize": 999 if mode == "bad_size" else 1000, "options": {"greeting": "hi"}})
    sys.exit(0)
if stage == "evaluate":
    assert sorted(manifest["dataUrls"]) == ["early", "extra", "initial"], manifest["dataUrls"]
    early = manifest["metadata"]["datasets"]["early"]
    assert early["moment"] == {"type": "since", "seconds": 3600}, early
    doc = json.load(urllib.request.urlopen(manifest["dataUrls"]["early"]))
    cols = doc["metadata"]["columns"]
    assert len(doc["data"]) == early["fullDatasetSize"], (len(doc["data"]), early)
    for row in doc["data"]:
        base, moment = (datetime.datetime.fromisoformat(row[cols.index(c)].replace("Z", "+00:00"))
                        for c in ("user_moment_base_timestamp", "moment_timestamp"))
        assert (moment - base).total_seconds() == 3600, row
    done({"code": "success"}, data={"auc": 0.5})
    sys.exit(0)
if stage == "train_more":
    assert list(manifest["getUploadUrls"]) == ["train_more"], manifest["getUploadUrls"]
    rows = json.load(urllib.request.urlopen(manifest["dataUrls"]["extra"]))["data"]
    put = urllib.request.urlopen(manifest["getUploadUrls"]["train_more"] + "/model.txt").read().decode()
    urllib.request.urlopen(urllib.request.Request(put, data=b"%d users" % len(rows), method="PUT")).read()
    done({"code": "success"}, batches={"maxBatchSize": 1000, "options": {"greeting": "hi"}})
    sys.exit(0)

index = manifest["metadata"]["batch"]["index"]
assert manifest["options"] == {"greeting": "hi"}, manifest["options"]
if params.get("log"):
    with open(params["log"], "a") as f:
        f.write("start %d\n" % index)
if index == params.get("fail_batch", -1.0):
    done({"code": "error", "title": "Batch broke", "explanation": "batch %d was told to fail" % index})
    sys.exit(1)
if mode == "stages":
    model = urllib.request.urlopen(manifest["downloadUrls"]["train_more"] + "/model.txt").read()
    assert model.endswith(b" users"), model
    assert sorted(manifest["downloadUrls"]) == ["evaluate", "initial", "train_more"], manifest["downloadUrls"]
rows = json.load(urllib.request.urlopen(manifest["dataUrls"]["batch"]))["data"]
data = {"category": "Test", "properties": ["batch"], "updates": [[r[0], index] for r in rows]}
time.sleep(params.get("sleep", 0.0))
put = urllib.request.urlopen(manifest["getUploadUrls"]["batch"] + "/data.json").read().decode()
urllib.request.urlopen(urllib.request.Request(put, data=json.dumps(data).encode(), method="PUT")).read()
done({"code": "success"})
