#!/usr/bin/env python3
"""A minimal Hugging Face Hub on loopback, for checking by hand that Python's huggingface_hub and
`electra` read each other's cache (docs/hub.md). Serves model folders as repos:

  python3 scripts/reference/mock_hub.py --port 8765 test-org/tiny=Tests/ElectraPipelinesTests/Fixtures/pipelines/seqcls-3

It answers what huggingface.co answers for downloads: GET /api/models/{repo}/revision/{rev},
HEAD/GET /{repo}/resolve/{rev}/{file} (ETag = git blob sha1; LFS-like files (.safetensors,
.bin, .h5, .msgpack) redirect to /lfs/{sha256} with X-Linked-Etag / X-Linked-Size), Range
requests, and X-Error-Code on 401/404. Standard library only.
"""
import argparse
import hashlib
import http.server
import json
import os
import urllib.parse

COMMIT = hashlib.sha1(b"mock-hub").hexdigest()
LFS = (".safetensors", ".bin", ".h5", ".msgpack")


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def load(folder):
    files = {}
    for root, _, names in os.walk(folder):
        for n in names:
            path = os.path.join(root, n)
            files[os.path.relpath(path, folder)] = open(path, "rb").read()
    return files


class Hub(http.server.BaseHTTPRequestHandler):
    repos = {}

    def send(self, status, headers=(), body=b""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code):
        self.send(status, [("X-Error-Code", code)], json.dumps({"error": code}).encode())

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        parts = [urllib.parse.unquote(p) for p in self.path.split("?")[0].split("/") if p]
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            repo = self.repos.get(parts[2] + "/" + parts[3])
            if repo is None:
                return self.error(401, "RepoNotFound")
            if parts[5] not in ("main", COMMIT):
                return self.error(404, "RevisionNotFound")
            body = {"id": parts[2] + "/" + parts[3], "sha": COMMIT, "siblings": [{"rfilename": f} for f in sorted(repo)]}
            return self.send(200, [("Content-Type", "application/json")], json.dumps(body).encode())
        if len(parts) == 2 and parts[0] == "lfs":
            for repo in self.repos.values():
                for data in repo.values():
                    if hashlib.sha256(data).hexdigest() == parts[1]:
                        rng = self.headers.get("Range")
                        if rng and rng.startswith("bytes="):
                            start = int(rng[6:].split("-")[0])
                            return self.send(206, [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))], data[start:])
                        return self.send(200, [("Accept-Ranges", "bytes")], data)
            return self.send(404)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo = self.repos.get(parts[0] + "/" + parts[1])
            if repo is None:
                return self.error(401, "RepoNotFound")
            if parts[3] not in ("main", COMMIT):
                return self.error(404, "RevisionNotFound")
            name = "/".join(parts[4:])
            if name not in repo:
                return self.error(404, "EntryNotFound")
            data = repo[name]
            if name.endswith(LFS):
                sha = hashlib.sha256(data).hexdigest()
                host = "http://%s:%d" % self.server.server_address[:2]
                return self.send(302, [("Location", host + "/lfs/" + sha), ("X-Repo-Commit", COMMIT), ("X-Linked-Etag", '"%s"' % sha),
                                       ("X-Linked-Size", str(len(data))), ("ETag", '"%s"' % git_sha1(b"pointer"))])
            return self.send(200, [("X-Repo-Commit", COMMIT), ("ETag", '"%s"' % git_sha1(data))], data)
        self.send(404)

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("repos", nargs="+", help="org/name=FOLDER")
    a = p.parse_args()
    for spec in a.repos:
        name, folder = spec.split("=", 1)
        Hub.repos[name] = load(folder)
    http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Hub).serve_forever()


if __name__ == "__main__":
    main()
