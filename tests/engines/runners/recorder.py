"""A runner command for end-to-end tests: records what a generated task passed to it.

Appends one JSON line to $RECORDER_OUT (as a data test's check command, with OMLC_TEST_INDEX
set: to $RECORDER_OUT.checks): the arguments, every OMLC_* environment variable, and the
runtime copy of the pipeline it was pointed at. Exits 3 when $RECORDER_FAIL is 1.
"""

import json
import os
import sys

record = {
    "argv": sys.argv[1:],
    "env": {k: v for k, v in os.environ.items() if k.startswith("OMLC_")},
}
path = os.environ.get("OMLC_OML_PATH")
if path and os.path.exists(path):
    with open(path, encoding="utf-8") as fh:
        record["oml"] = fh.read()
suffix = ".checks" if os.environ.get("OMLC_TEST_INDEX") else ""
with open(os.environ["RECORDER_OUT"] + suffix, "a", encoding="utf-8") as out:
    out.write(json.dumps(record) + "\n")
sys.exit(3 if os.environ.get("RECORDER_FAIL") == "1" else 0)
