"""Shared by the build scripts of the bundled datasets: the files of a pinned PyPI wheel.

`read(spec, wheel, sha256, members)` downloads `spec` (e.g. "cect==0.3.5") with
`pip download --no-deps`, checks that the file `wheel` has the given sha256 (exits otherwise)
and returns the bytes of the named members. Standard library only.
"""
import hashlib, os, subprocess, sys, tempfile, zipfile


def read(spec, wheel, sha256, members):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, spec], check=True)
        path = os.path.join(tmp, wheel)
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        if digest != sha256:
            sys.exit(f"{wheel}: sha256 {digest}, expected {sha256}")
        z = zipfile.ZipFile(path)
        return {m: z.read(m) for m in members}
