#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Re-signs every part of a cse-report partial with an Ed25519 key, as a
practice holding that key could: used by the tests to forge partials that are
validly signed but implausible, or signed by the wrong party.

  report_sign.py KEY.pem IN.json OUT.json [--signer ODS] [--set PATH=INT]...

KEY.pem.pub must sit beside KEY.pem (cse-report keygen writes both). PATH is
a dotted path inside each part's first cell, e.g. counts.registered_children.
The signature covers the part serialised compactly with sorted keys, ASCII
only (aggregate/partial.c); openssl pkeyutl makes it."""
import base64
import hashlib
import json
import subprocess
import sys
import tempfile


def main(argv):
    key, src, dst = argv[1:4]
    signer = None
    sets = []
    rest = argv[4:]
    while rest:
        if rest[0] == "--signer":
            signer = rest[1]
        elif rest[0] == "--set":
            path, value = rest[1].split("=", 1)
            sets.append((path.split("."), int(value)))
        else:
            sys.exit("unknown option " + rest[0])
        rest = rest[2:]
    with open(key + ".pub") as f:
        raw = bytes.fromhex(f.read().split()[2])
    key_id = hashlib.sha256(b"csemarker ed25519:" + raw).hexdigest()[:16]
    with open(src) as f:
        doc = json.load(f)
    for part in doc["partials"]:
        part.pop("signature", None)
        part["signer_key_id"] = key_id
        if signer is not None:
            part["signer"] = signer
        for path, value in sets:
            node = part["cells"][0]
            for p in path[:-1]:
                node = node[p]
            node[path[-1]] = value
        msg = json.dumps(part, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        with tempfile.NamedTemporaryFile() as m:
            m.write(msg.encode())
            m.flush()
            sig = subprocess.run(
                ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", m.name],
                check=True, capture_output=True).stdout
        part["signature"] = "ed25519:" + base64.b64encode(sig).decode()
    with open(dst, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
