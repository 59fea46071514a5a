"""A deployable test plugin. The initial stage uploads note.txt, asks for
the stage "explainer" and returns http (port 7001, statusPath /status,
requestPath /nope, startServerCmd running this script with "serve 7001");
explainer returns http with requestPath /echo, options and explain, which
win over initial's (merged per key). The server answers POST /status with
200 while healthy, and POST /echo with what it was started with: the
manifest, its environment, its working directory, its argv port and the
downloaded note.txt; {"fail_status": true} makes /status answer 500 from
then on. inputParams mode "never": the server never listens (it writes
to stderr and sleeps)."""
import http.server
import json
import os
import shlex
import sys
import urllib.request


def done(path, status, **extra):
    json.dump(dict(status=status, **extra), open(path, "w"))


def serve(port):
    manifest = json.load(open(os.environ["PLUGIN_MANIFEST"]))
    note = urllib.request.urlopen(manifest["downloadUrls"]["initial"] + "/note.txt").read().decode()
    state = {"healthy": True}

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, code, body):
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            if self.path == "/status":
                self.answer(200 if state["healthy"] else 500, {"healthy": state["healthy"]})
            elif self.path == "/echo":
                if body.get("fail_status"):
                    state["healthy"] = False
                self.answer(200, {"manifest": manifest, "env": dict(os.environ), "cwd": os.getcwd(),
                                  "port": port, "note": note, "body": body})
            else:
                self.answer(404, {"error": "no route " + self.path})

        def log_message(self, fmt, *args):
            sys.stderr.write("deploy.py: " + fmt % args + "\n")

    print("deploy.py: serving on", port, flush=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if len(sys.argv) == 3 and sys.argv[1] == "serve":
    serve(int(sys.argv[2]))
    sys.exit(0)

manifest = json.load(open(sys.argv[1]))
mode = (manifest.get("inputParams") or {}).get("mode", "")
if manifest["stage"] == "initial":
    put = urllib.request.urlopen(manifest["getUploadUrls"]["initial"] + "/note.txt").read().decode()
    urllib.request.urlopen(urllib.request.Request(put, data=b"from initial", method="PUT")).read()
    cmd = "exec %s %s serve 7001" % (shlex.quote(sys.executable), shlex.quote(os.path.abspath(sys.argv[0])))
    if mode == "never":
        cmd = "echo 'deploy.py: no model here, not listening' >&2; exec sleep 600"
    done(sys.argv[2], {"code": "success"}, data={"summary": "deployable"}, stages={"explainer": {}},
         http={"port": 7001, "statusPath": "/status", "requestPath": "/nope", "startServerCmd": cmd})
elif manifest["stage"] == "explainer":
    done(sys.argv[2], {"code": "success"},
         http={"requestPath": "/echo", "options": {"greeting": "hi"}, "explain": {"output": {"examples": [["echo"]]}}})
