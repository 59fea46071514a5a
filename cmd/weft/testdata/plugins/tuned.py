"""A test plugin with hyper-parameters. The initial stage (one process per
variation) appends "start <index> x=<x> r=<r>" to the file inputParams.log,
sleeps inputParams.sleep seconds when x equals inputParams.slow, uploads
model.txt ("variation <index> x=<x>"), appends "done <index>" and scores
-|x - target|. Batches of 1,000 users download the winner's model.txt and
write it as the property "model" on their users."""
import json
import sys
import time
import urllib.request

manifest = json.load(open(sys.argv[1]))
params = manifest["inputParams"]


def done(status, **extra):
    json.dump(dict(status=status, **extra), open(sys.argv[2], "w"))


def log(line):
    with open(params["log"], "a") as f:
        f.write(line + "\n")


def upload(stage, path, body):
    put = urllib.request.urlopen(manifest["getUploadUrls"][stage] + "/" + path).read().decode()
    urllib.request.urlopen(urllib.request.Request(put, data=body, method="PUT")).read()


if manifest["stage"] == "initial":
    index, x = manifest["metadata"]["variation"]["index"], params["x"]
    # Numbers are always floats (4.0, not 4), whole ones too.
    assert isinstance(x, float) and isinstance(params["r"], float), params
    log("start %d x=%g r=%r" % (index, x, params["r"]))
    if x == params["slow"]:
        time.sleep(params["sleep"])
    upload("initial", "model.txt", b"variation %d x=%g" % (index, x))
    log("done %d" % index)
    done({"code": "success"}, score=-abs(x - params["target"]), data={"x": x},
         batches={"maxBatchSize": 1000})
    sys.exit(0)

model = urllib.request.urlopen(manifest["downloadUrls"]["initial"] + "/model.txt").read().decode()
assert model.endswith(" x=%g" % params["x"]), (model, params)  # the winner's inputParams
rows = json.load(urllib.request.urlopen(manifest["dataUrls"]["batch"]))["data"]
upload("batch", "data.json", json.dumps({"properties": ["model"], "updates": [[r[0], model] for r in rows]}).encode())
done({"code": "success"})
