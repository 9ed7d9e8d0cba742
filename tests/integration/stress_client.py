"""One client of the stress test (run as a process): a service layer driven the way a TUI
drives it, on its own project's session, for a number of seconds.

    python stress_client.py DATA_DIR CONFIG PROJECT SESSION SECONDS OUT.json

Holds the session read-write (heartbeat), then loops over: write a file through the VFS,
checkpoint, tag, restore an older checkpoint, undo. Writes what it did and every error
message to OUT.json."""

from __future__ import annotations

import json
import random
import sys
import time

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.service import Vmuser


def main() -> int:
    data, config, project, session, seconds, out = sys.argv[1:7]
    vm = Vmuser.open(data_dir=data, config_path=config)
    rng = random.Random(project)
    assert vm.access.attach(session, mode="rw").ok
    done = {"checkpoints": [], "tags": 0, "restores": 0, "undos": 0, "writes": 0, "errors": []}
    deadline = time.monotonic() + float(seconds)
    beat = time.monotonic()
    i = 0
    while time.monotonic() < deadline:
        i += 1
        try:
            vm.fs.write(project, f"notes/{rng.randrange(20)}.txt", f"{project} edit {i}\n".encode() * rng.randrange(1, 50))
            done["writes"] += 1
            out_cp = vm.checkpoints.create(project, description=f"step {i}")
            if out_cp.created:
                done["checkpoints"].append(out_cp.checkpoint.id)
            if i % 3 == 0:
                vm.checkpoints.tag(out_cp.checkpoint.id, [f"t{i}"])
                done["tags"] += 1
            if i % 5 == 0 and len(done["checkpoints"]) > 2:
                vm.restores.restore(rng.choice(done["checkpoints"][:-1]))
                done["restores"] += 1
                if rng.random() < 0.5:
                    vm.restores.undo(project)
                    done["undos"] += 1
        except VmuserError as exc:
            done["errors"].append(str(exc))
        if time.monotonic() - beat > 5:
            vm.access.heartbeat()
            beat = time.monotonic()
    vm.access.detach(session)
    vm.close()
    with open(out, "w") as fh:
        json.dump(done, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
