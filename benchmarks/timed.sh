# Sourced by the end-to-end scripts (lerobot_e2e.sh, lerobot_libero_e2e.sh); needs $BIN (a venv's bin) and $OUT.
timed() {  # timed NAME COMMAND...: run, add NAME's wall seconds to $OUT/seconds.json
    local name=$1 t0
    shift
    t0=$(date +%s)
    "$@"
    "$BIN/python" - "$OUT/seconds.json" "$name" "$(( $(date +%s) - t0 ))" <<'PY'
import json, sys
from pathlib import Path
path, name, seconds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
times = json.loads(path.read_text()) if path.exists() else {}
path.write_text(json.dumps({**times, name: seconds}, indent=1) + "\n")
PY
}
