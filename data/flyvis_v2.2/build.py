#!/usr/bin/env python3
"""Rebuilds the bundled flyvis wiring (the fly visual system's type-level connectome, version
fib25-fib19 v2.2) from the pinned `flyvis==1.2.0` wheel (MIT licence).

    python3 data/flyvis_v2.2/build.py      # needs pip and network access to PyPI

Downloads the wheel with `pip download --no-deps`, checks its sha256, and stores
`flyvis/connectome/fib25-fib19_v2.2.json` unchanged (its sha256 checked too) as
`fib25-fib19_v2.2.json.gz` (gzip, no name or time in the header). ccrnn expands it onto the
hexagonal lattice itself. Standard library only.
"""
import gzip, hashlib, os, sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pinned_wheel  # noqa: E402  (data/pinned_wheel.py)

WHEEL = "flyvis-1.2.0-py3-none-any.whl"
SHA256 = "af365b16e870111fcb06782a063f6551b05cce9a105c6eaab9c0bda3b017031f"
JSON = "flyvis/connectome/fib25-fib19_v2.2.json"
JSON_SHA256 = "bfbb0766251ff09e22723d0ebbf7b14793e70b3ae8ad0eea64eac9d28223351a"
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    data = pinned_wheel.read("flyvis==1.2.0", WHEEL, SHA256, [JSON])[JSON]
    digest = hashlib.sha256(data).hexdigest()
    if digest != JSON_SHA256:
        sys.exit(f"{JSON}: sha256 {digest}, expected {JSON_SHA256}")
    with open(os.path.join(HERE, "fib25-fib19_v2.2.json.gz"), "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(data)
    print(f"{JSON}: {len(data)} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
