#!/usr/bin/env python3
"""RFM segmentation: Weft's example intelligence plugin in Python.

    python3 main.py manifest.json results.json

It uses the standard library only, to show that the plugin contract
(specs/stormly.md) is language neutral.

Stages:
  initial  Read dataUrls.initial, find the recency, frequency and monetary
           features, compute the quintile cut points of each, upload them as
           rfm-model.json into this stage's storage, and write results.json
           with a summary (segment sizes) and `batches`.
  batch    Download rfm-model.json, score every user of the batch's data URL
           (R, F and M from 1 to 5, and a segment name) and upload data.json
           (category, properties, updates) through getUploadUrls.batch.

Which features: the text inputParams recency_feature, frequency_feature and
monetary_feature (a dataset column or a feature's readable name), otherwise
the first feature whose column or name matches the keywords below.
Recency is a date (the age in days before the row's data_now is used) or a
number of days since the last activity; frequency and monetary are numbers.
Without a monetary feature, M is the F score.

Any failure writes results.json with status.code "error", a title, an
explanation and a backtrace, and exits 1.
"""

import bisect
import datetime
import json
import math
import os
import re
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request

PLUGIN = "rfm"
MODEL_PATH = "rfm-model.json"
CATEGORY = "RFM"
PROPERTIES = ["rfm_segment", "rfm_code", "recency_score", "frequency_score", "monetary_score"]
FIXED_COLUMNS = {"user_id", "user_created", "data_now", "y_value", "y_timestamp", "random",
                 "moment_key", "user_moment_base_timestamp", "moment_timestamp"}

KEYWORDS = {
    "recency": ["recency", "days since last", "last purchase", "last order", "last transaction",
                "last seen", "last activity", "last event", "last visit"],
    "frequency": ["frequency", "orders", "purchases", "transactions", "number of", "count",
                  "sessions", "visits"],
    "monetary": ["monetary", "total spend", "spend", "revenue", "total", "amount", "ltv",
                 "lifetime value", "value"],
}

# The usual RFM grid over R and the F/M score.
SEGMENTS = [
    (r"[1-2][1-2]", "Hibernating"),
    (r"[1-2][3-4]", "At risk"),
    (r"[1-2]5", "Can't lose them"),
    (r"3[1-2]", "About to sleep"),
    (r"33", "Need attention"),
    (r"[3-4][4-5]", "Loyal customers"),
    (r"41", "Promising"),
    (r"51", "New customers"),
    (r"[4-5][2-3]", "Potential loyalists"),
    (r"5[4-5]", "Champions"),
]


class PluginError(Exception):
    def __init__(self, title, explanation):
        super().__init__(explanation)
        self.title = title
        self.explanation = explanation


def log(msg):
    print(f"{PLUGIN}: {msg}", file=sys.stderr, flush=True)


# ---- HTTP: datasets and signed storage ----

def redact(url):
    return url.split("?", 1)[0] + ("?…" if "?" in url else "")


def http(method, url, body=None, timeout=600):
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        detail = e.read(300).decode("utf-8", "replace").strip()
        raise OSError(f"{method} {redact(url)}: {e.code} {e.reason}: {detail}") from None
    except urllib.error.URLError as e:
        raise OSError(f"{method} {redact(url)}: {e.reason}") from None


def file_url(base, path):
    """Append a storage path to an upload or download prefix, before any query."""
    if not base:
        raise OSError("no URL for this stage in the manifest")
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(
        path=parts.path.rstrip("/") + "/" + urllib.parse.quote(path)))


def upload(manifest, path, body):
    """GET the presigned URL (plain text), then PUT the bytes to it (spec §8.1)."""
    stage = manifest["stage"]
    try:
        url = file_url(manifest.get("getUploadUrls", {}).get(stage), path)
        signed = http("GET", url).decode("utf-8").strip()
        signed = urllib.parse.urljoin(url, signed)  # tolerate a relative answer
        http("PUT", signed, body)
    except OSError as e:
        raise PluginError(f"Uploading {path} failed", str(e)) from None


def download(manifest, stage, path):
    try:
        return http("GET", file_url(manifest.get("downloadUrls", {}).get(stage), path))
    except OSError as e:
        raise PluginError(f"Could not download {path}", f"from stage {stage}: {e}") from None


def data_url(manifest, key):
    urls = {k: v for k, v in (manifest.get("dataUrls") or {}).items() if v}
    for k in (key, "initial"):
        if k in urls:
            return k, urls[k]
    if not urls:
        raise PluginError("No dataset", "the manifest has no dataUrls")
    k = sorted(urls)[0]
    return k, urls[k]


def with_range(url, lo, hi):
    parts = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if any(k in ("range_start_gt_or_eq", "range_end_lt") for k, _ in q):
        return url
    q += [("range_start_gt_or_eq", repr(lo)), ("range_end_lt", repr(hi))]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q)))


def read_dataset(url):
    """The dataset of spec §6: returns (columns, rows)."""
    try:
        doc = json.loads(http("GET", url))
    except OSError as e:
        raise PluginError("Could not read the dataset", str(e)) from None
    except ValueError as e:
        raise PluginError("Invalid dataset", f"{redact(url)} is not JSON: {e}") from None
    cols = (doc.get("metadata") or {}).get("columns") if isinstance(doc, dict) else None
    rows = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(cols, list) or not cols or not isinstance(rows, list):
        raise PluginError("Invalid dataset", f"{redact(url)} has no metadata.columns or data")
    return cols, rows


# ---- values ----

def parse_time(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        t = datetime.datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t


def scalar(v):
    """The one element of a one-element array (a feature holding one value
    per user may come as [x]), else v itself."""
    while isinstance(v, list) and len(v) == 1:
        v = v[0]
    return v


def number(v):
    """A float, or None for null, empty and unreadable values."""
    v = scalar(v)
    if v is None or isinstance(v, bool):
        return None if v is None else float(v)
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, str) and v.strip():
        try:
            f = float(v)
            return f if math.isfinite(f) else None
        except ValueError:
            return None
    return None


def recency_days(v, now):
    """Days since the last activity: a date's age before now, or a number of days."""
    v = scalar(v)
    f = number(v)
    if f is not None:
        return f
    if isinstance(v, str) and v.strip():
        t = parse_time(v)
        if t is not None:
            return (now - t).total_seconds() / 86400
    return None


def row_now(row, idx):
    i = idx.get("data_now")
    if i is not None and i < len(row) and isinstance(row[i], str):
        t = parse_time(row[i])
        if t:
            return t
    return datetime.datetime.now(datetime.timezone.utc)


# ---- choosing the features ----

def norm(s):
    return re.sub(r"[^a-z0-9]+", " ", str(s).lower()).strip()


def resolve_features(manifest, columns):
    features = (manifest.get("metadata") or {}).get("features") or {}
    candidates = [c for c in columns if c not in FIXED_COLUMNS]
    names = {c: (features.get(c) or {}).get("name") or c for c in candidates}
    params = manifest.get("inputParams") or {}
    chosen = {}
    for what in ("recency", "frequency", "monetary"):
        want = params.get(f"{what}_feature")
        if isinstance(want, str) and want.strip():
            hit = [c for c in candidates if norm(c) == norm(want) or norm(names[c]) == norm(want)]
            if not hit:
                raise PluginError("Unknown feature",
                                  f"inputParams.{what}_feature = {want!r} is not a dataset column or feature name "
                                  f"(have: {', '.join(names[c] for c in candidates)})")
            chosen[what] = hit[0]
            continue
        taken = set(chosen.values())
        for kw in KEYWORDS[what]:
            hit = [c for c in candidates if c not in taken and (kw in norm(c) or kw in norm(names[c]))]
            if hit:
                chosen[what] = hit[0]
                break
    for what in ("recency", "frequency"):
        if what not in chosen:
            raise PluginError(f"No {what} feature",
                              f"no dataset feature looks like {what}; set inputParams.{what}_feature "
                              f"(features: {', '.join(names[c] for c in candidates) or 'none'})")
    return chosen, names


# ---- quintiles and segments ----

def cut_points(values):
    """The 20th, 40th, 60th and 80th percentiles (nearest rank)."""
    v = sorted(values)
    if not v:
        return []
    return [v[min(len(v) - 1, max(0, math.ceil(p * len(v)) - 1))] for p in (0.2, 0.4, 0.6, 0.8)]


def quintile(cuts, v):
    """1 for values at or below the first cut point, ..., 5 above the last."""
    return bisect.bisect_left(cuts, v) + 1


def segment(r, fm):
    code = f"{r}{fm}"
    for pattern, name in SEGMENTS:
        if re.fullmatch(pattern, code):
            return name
    return "Other"


def score_row(model, row, idx):
    cols = model["columns"]
    now = row_now(row, idx)

    def value(what):
        i = idx.get(cols.get(what) or "")
        return row[i] if i is not None and i < len(row) else None

    days = recency_days(value("recency"), now)
    r = 1 if days is None else 6 - quintile(model["cuts"]["recency"], days)
    f = quintile(model["cuts"]["frequency"], number(value("frequency")) or 0.0)
    if cols.get("monetary"):
        m = quintile(model["cuts"]["monetary"], number(value("monetary")) or 0.0)
    else:
        m = f
    fm = int(math.floor((f + m) / 2 + 0.5))
    return [segment(r, fm), f"{r}{f}{m}", r, f, m]


# ---- stages ----

def param(manifest, name, default):
    v = (manifest.get("inputParams") or {}).get(name)
    f = number(v)
    return default if f is None else f


def initial(manifest):
    key, url = data_url(manifest, "initial")
    full = ((manifest.get("metadata") or {}).get("datasets") or {}).get(key, {}).get("fullDatasetSize") or 0
    max_users = param(manifest, "max_users", 200000)
    if max_users >= 1000 and full > max_users:
        url = with_range(url, 0.0, max_users / full)  # quintiles from a sample
        log(f"sampling about {max_users:.0f} of {full} users")
    columns, rows = read_dataset(url)
    idx = {c: i for i, c in enumerate(columns)}
    chosen, names = resolve_features(manifest, columns)
    log(f"read {len(rows)} users; recency={chosen['recency']} frequency={chosen['frequency']} "
        f"monetary={chosen.get('monetary')}")
    if not rows:
        raise PluginError("No users", "the dataset has no users")

    rec, freq, mon = [], [], []
    for row in rows:
        now = row_now(row, idx)
        d = recency_days(row[idx[chosen["recency"]]], now)
        if d is not None:
            rec.append(d)
        freq.append(number(row[idx[chosen["frequency"]]]) or 0.0)
        if "monetary" in chosen:
            mon.append(number(row[idx[chosen["monetary"]]]) or 0.0)
    if not rec:
        raise PluginError("No recency values",
                          f"feature {names[chosen['recency']]} is empty or not a date or number of days for every user")
    model = {
        "version": 1,
        "columns": chosen,
        "names": {what: names[c] for what, c in chosen.items()},
        "cuts": {"recency": cut_points(rec), "frequency": cut_points(freq), "monetary": cut_points(mon)},
        "users": len(rows),
    }
    body = json.dumps(model, indent=1).encode()
    with open(MODEL_PATH, "wb") as f:  # a local copy in the working directory
        f.write(body)
    upload(manifest, MODEL_PATH, body)

    counts = {}
    for row in rows:
        s = score_row(model, row, idx)[0]
        counts[s] = counts.get(s, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    summary = (f"Segmented {len(rows)} users by recency ({model['names']['recency']}), frequency "
               f"({model['names']['frequency']}) and monetary value ("
               f"{model['names'].get('monetary', 'the frequency score')}): "
               + ", ".join(f"{name} {100 * n / len(rows):.0f}%" for name, n in top) + ".")
    batch_size = min(max(int(param(manifest, "max_batch_size", 10000)), 1000), 10000000)
    return {
        "data": {"summary": summary, "segments": dict(top), "features": model["names"],
                 "cuts": model["cuts"], "properties": PROPERTIES},
        "status": {"code": "success", "title": None, "explanation": None, "backtrace": None},
        "jsx": "<Insight><p>{results.data.summary}</p></Insight>",
        "batches": {"maxBatchSize": batch_size,
                    "options": {"model": {"stage": manifest["stage"], "path": MODEL_PATH},
                                "category": CATEGORY}},
    }


def batch(manifest):
    options = manifest.get("options") or {}
    where = options.get("model") or {}
    stage, path = where.get("stage") or "initial", where.get("path") or MODEL_PATH
    try:
        model = json.loads(download(manifest, stage, path))
        if not isinstance(model.get("columns"), dict) or not isinstance(model.get("cuts"), dict):
            raise ValueError("no columns or cuts")
    except ValueError as e:
        raise PluginError("Invalid model", f"{path} from stage {stage}: {e}") from None
    key, url = data_url(manifest, "batch")
    columns, rows = read_dataset(url)
    idx = {c: i for i, c in enumerate(columns)}
    if "user_id" not in idx:
        raise PluginError("Invalid dataset", "the batch dataset has no user_id column")
    for what, c in model["columns"].items():
        if c not in idx:
            log(f"the batch dataset lacks the {what} feature {c}; scoring it as missing")
    updates, seen = [], set()
    for n, row in enumerate(rows):
        uid = row[idx["user_id"]]
        if uid is None or uid == "":
            raise PluginError("Invalid dataset", f"row {n} has no user_id")
        uid = uid if isinstance(uid, str) else json.dumps(uid)
        if uid in seen:
            continue
        seen.add(uid)
        updates.append([uid] + score_row(model, row, idx))
    log(f"scored {len(updates)} users of dataset {key}")
    data = {"category": options.get("category") or CATEGORY, "properties": PROPERTIES, "updates": updates}
    body = json.dumps(data, separators=(",", ":")).encode()
    with open("data.json", "wb") as f:
        f.write(body)
    upload(manifest, "data.json", body)
    return {"status": {"code": "success", "title": None, "explanation": None, "backtrace": None}}


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} manifest.json results.json", file=sys.stderr)
        return 2
    results_path = argv[2]
    try:
        try:
            with open(argv[1]) as f:
                manifest = json.load(f)
        except (OSError, ValueError) as e:
            raise PluginError("Invalid manifest", f"{argv[1]}: {e}") from None
        if not isinstance(manifest, dict) or not manifest.get("stage"):
            raise PluginError("Invalid manifest", f"{argv[1]} has no stage")
        stage = manifest["stage"]
        if stage == "initial":
            results = initial(manifest)
        elif stage == "batch":
            results = batch(manifest)
        else:
            raise PluginError("Unsupported stage", f"stage {stage!r}: this plugin has only the initial and batch stages")
    except Exception as e:  # every failure becomes a results.json status
        if isinstance(e, PluginError):
            title, explanation, backtrace = e.title, e.explanation, None
        else:
            title, explanation, backtrace = "RFM segmentation crashed", f"{type(e).__name__}: {e}", traceback.format_exc()
        log(f"{title}: {explanation}")
        status = {"code": "error", "title": title, "explanation": explanation, "backtrace": backtrace}
        try:
            write_json(results_path, {"status": status})
        except OSError as werr:
            log(f"writing {results_path}: {werr}")
        return 1
    write_json(results_path, results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
