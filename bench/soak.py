"""Mixed load for bench/soak.sh: CLIENTS threads, each its own account with an
API token, for SECONDS: list files, upload a small file, download one, ask
for a receipt, stamp at /tsa, and now and then sign in again (Argon2).

Usage: python3 bench/soak.py BASE_URL CLIENTS SECONDS TSQ_FILE
Prints one line: requests done, by kind, and how many failed.
"""

import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

base, clients, seconds, tsq = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
host = urllib.parse.urlsplit(base).netloc
stamp_request = open(tsq, "rb").read()
counts, failures, lock = {}, {}, threading.Lock()


def count(kind, ok):
    with lock:
        counts[kind] = counts.get(kind, 0) + 1
        if not ok:
            failures[kind] = failures.get(kind, 0) + 1


class Client:
    def __init__(self):
        self.conn = http.client.HTTPConnection(host, timeout=60)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        headers.setdefault("Accept", "application/json")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                for name, value in response.getheaders():
                    if name.lower() == "set-cookie":
                        cookie, _, value = value.split(";", 1)[0].partition("=")
                        if value:
                            self.cookies[cookie] = value
                        else:
                            self.cookies.pop(cookie, None)
                return response.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(host, timeout=60)
                if attempt == 2:
                    return 0, b""

    def json(self, method, path, payload, csrf):
        return self.request(
            method,
            path,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )

    def csrf(self, path):
        return json.loads(self.request("GET", path)[1])["csrf_token"]


def multipart(name, content):
    boundary = "soak%016x" % random.getrandbits(64)
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def run(number, deadline):
    client = Client()
    name = f"soak{number}"
    password = "soak password " + name
    csrf = client.csrf("/auth/login")

    def until_done(path, payload, expected):
        # Everyone starts at once: the password workers may ask some to come back.
        while True:
            status, body = client.json("POST", path, payload, csrf)
            if status == expected:
                return body
            if status not in (503, 429):
                raise RuntimeError(f"{path} answered {status}: {body[:200]!r}")
            time.sleep(1)

    until_done("/auth/register", {"username": name, "email": f"{name}@example.com", "password": password}, 201)
    body = until_done("/auth/login", {"username": name, "password": password}, 200)
    csrf = json.loads(body)["csrf_token"]
    status, body = client.json("POST", "/settings/tokens", {"name": "soak"}, csrf)
    auth = {"Authorization": "Bearer " + json.loads(body)["token"]}
    scripts = Client()  # the token's requests, on a connection of their own
    ids = []
    step = 0
    while time.monotonic() < deadline:
        step += 1
        status, body = scripts.request("GET", "/files?limit=50", headers=auth)
        count("list", status == 200)
        if step % 3 == 0:
            body, kind = multipart(f"n{step}.txt", os.urandom(8192).hex().encode())
            status, answer = scripts.request("POST", "/upload", body, {**auth, "Content-Type": kind})
            count("upload", status == 201)
            if status == 201:
                ids.append(json.loads(answer)["files"][0]["id"])
                ids = ids[-20:]
        if ids:
            file_id = random.choice(ids)
            status, _ = scripts.request("GET", f"/files/{file_id}/download", headers=auth)
            count("download", status == 200)
            if step % 5 == 0:
                status, _ = scripts.request("GET", f"/files/{file_id}/receipt", headers=auth)
                count("receipt", status in (200, 503))
        status, _ = scripts.request(
            "POST", "/tsa", stamp_request, {"Content-Type": "application/timestamp-query"}
        )
        count("tsa", status == 200)
        status, _ = client.request("GET", "/dashboard")
        count("dashboard", status == 200)
        if step % 40 == 0:
            fresh = Client()
            login_csrf = fresh.csrf("/auth/login")
            status, _ = fresh.json("POST", "/auth/login", {"username": name, "password": password}, login_csrf)
            count("sign-in", status in (200, 503))
            fresh.conn.close()


deadline = time.monotonic() + seconds
threads = [threading.Thread(target=run, args=(n, deadline)) for n in range(clients)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
total = sum(counts.values())
failed = sum(failures.values())
kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
print(f"{total} requests ({kinds}); {failed} failed {failures if failed else ''}".strip())
