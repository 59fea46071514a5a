#!/usr/bin/env python3
"""Forecast: Weft's example report plugin in Python (spec section 12).

    python3 main.py manifest.json results.json

It uses the standard library only. It reads the report of its manifest's
dataUrl, a time series (one point per time bucket, group and date range),
and for every series (one group in one date range) fits a least-squares
line through the bucket values, buckets without a point counting as 0, and
extends it forecast_periods buckets past the date range.

Which value: inputData.forecast_value (a valueIndex) when declared, else the
first value. inputParams.forecast_periods (a float, as every number) sets the
horizon, default 7.

results.json: data holds the series (history and forecast) and the report's
context; js/jsx/helper render a table. Any failure writes results.json with
status.code "error", a title, an explanation and a backtrace, and exits 1.
"""

import datetime
import json
import sys
import traceback
import urllib.error
import urllib.request

HELPER = """class {
  constructor(results) { this.results = results; }
  rows() {
    return this.results.data.series.flatMap(s =>
      s.forecast.map(([time, value]) => ({group: s.groupBy.join(" / "), time, value})));
  }
  renderTable() {
    return <table>{this.rows().map(r => <tr><td>{r.group}</td><td>{r.time}</td><td>{r.value.toFixed(1)}</td></tr>)}</table>;
  }
}"""


class PluginError(Exception):
    """A failure the user can act on: title and explanation."""

    def __init__(self, title, explanation):
        super().__init__(explanation)
        self.title = title
        self.explanation = explanation


def fetch_report(url):
    try:
        with urllib.request.urlopen(url, timeout=600) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        raise PluginError("Report unavailable", "GET dataUrl answered %d: %s" % (e.code, e.read()[:500].decode("utf-8", "replace")))
    except urllib.error.URLError as e:
        raise PluginError("Report unavailable", "GET dataUrl failed: %s" % e.reason)


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def fmt_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def step(t, unit, n=1):
    """The bucket n buckets after t (t is a bucket start)."""
    if unit == "hour":
        return t + datetime.timedelta(hours=n)
    if unit == "day":
        return t + datetime.timedelta(days=n)
    if unit == "week":
        return t + datetime.timedelta(weeks=n)
    if unit == "month":
        m = t.month - 1 + n
        return t.replace(year=t.year + m // 12, month=m % 12 + 1)
    raise PluginError("Unsupported report", "timeUnit %r is not hour, day, week or month" % unit)


def bucket(t, unit):
    """The start of the bucket holding t, as the platform truncates."""
    t = t.replace(minute=0, second=0, microsecond=0)
    if unit == "hour":
        return t
    t = t.replace(hour=0)
    if unit == "week":
        return t - datetime.timedelta(days=t.weekday())
    if unit == "month":
        return t.replace(day=1)
    return t


def buckets(start, end, unit):
    """Bucket starts from the bucket of start up to before end."""
    out, t = [], bucket(start, unit)
    while t < end:
        out.append(t)
        t = step(t, unit)
    return out


def fit(ys):
    """Least-squares line through (i, ys[i]): (slope, intercept)."""
    n = len(ys)
    if n == 1:
        return 0.0, ys[0]
    mx, my = (n - 1) / 2.0, sum(ys) / n
    sxx = sum((i - mx) ** 2 for i in range(n))
    sxy = sum((i - mx) * (y - my) for i, y in enumerate(ys))
    slope = sxy / sxx
    return slope, my - slope * mx


def forecast(manifest):
    report = fetch_report(manifest["dataUrl"])
    ctx = report["context"]
    if ctx.get("dataFormat") != "timeseries":
        raise PluginError("Unsupported report", "forecast needs a timeseries report, not %r" % ctx.get("dataFormat"))
    unit = ctx["timeUnit"]
    value = manifest.get("inputData", {}).get("forecast_value", {}).get("valueIndex", 0)
    if value >= len(ctx["values"]):
        raise PluginError("Bad input", "forecast_value is value %d, but the report has %d values" % (value, len(ctx["values"])))
    periods = int(manifest.get("inputParams", {}).get("forecast_periods", 7.0))
    if periods < 1 or periods > 1000:
        raise PluginError("Bad input", "forecast_periods is %d: it must be from 1 to 1000" % periods)

    series = {}
    for p in report["data"]:
        key = (p["dateRange"], tuple(p["groupBy"]))
        v = p["values"][value]
        series.setdefault(key, {})[p["time"]] = 0.0 if v is None else float(v)

    out = []
    for (rng, group), points in sorted(series.items(), key=lambda kv: (kv[0][0], [str(g) for g in kv[0][1]])):
        # The date range's buckets when the platform says them (Weft's
        # context.periods), else the buckets from the first to the last point.
        if "periods" in ctx:
            period = ctx["periods"][rng]
            times = buckets(parse_time(period["from"]), parse_time(period["to"]), unit)
        else:
            first, last = min(points), max(points)
            times = buckets(parse_time(first), step(parse_time(last), unit), unit)
        ys = [points.get(fmt_time(t), 0.0) for t in times]
        slope, intercept = fit(ys)
        ahead = [[fmt_time(step(times[-1], unit, k)), max(0.0, intercept + slope * (len(ys) - 1 + k))]
                 for k in range(1, periods + 1)]
        out.append({"dateRange": rng, "groupBy": list(group), "history": [[fmt_time(t), y] for t, y in zip(times, ys)],
                    "total": sum(ys), "slope": slope, "intercept": intercept, "forecast": ahead})
    return {"value": ctx["values"][value], "timeUnit": unit, "dateRanges": ctx["dateRanges"],
            "periods": periods, "series": out}


def main(argv):
    if len(argv) != 3:
        print("usage: main.py manifest.json results.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            manifest = json.load(f)
        data = forecast(manifest)
        results = {"status": {"code": "success", "title": None, "explanation": None, "backtrace": None},
                   "data": data,
                   "js": "return {rows: results.helpers.rows()}",
                   "jsx": "<Insight>{ results.helpers.renderTable() }</Insight>",
                   "helper": HELPER}
        code = 0
    except Exception as e:  # reported to the user through results.json
        title = getattr(e, "title", "Forecast failed")
        explanation = getattr(e, "explanation", str(e))
        results = {"status": {"code": "error", "title": title, "explanation": explanation,
                              "backtrace": traceback.format_exc()}}
        code = 1
    with open(argv[2], "w") as f:
        json.dump(results, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
