#!/usr/bin/python3
"""An admin's pylxd script, run unchanged against lodged (LXD_DIR names
its state directory). Usage: pylxd_session.py IMAGE_ALIAS NAME
Exits non-zero at the first thing that does not behave as on LXD."""
import sys
import threading

import pylxd

alias, name = sys.argv[1], sys.argv[2]
client = pylxd.Client()
assert client.trusted, "the unix socket should be trusted"
assert client.has_api_extension("file_delete")

# Events: a listener started before the work sees its lifecycle events.
seen = []
ws = client.events(event_types={"lifecycle"})
ws.received_message = lambda message: seen.append(message.data.decode() if isinstance(message.data, bytes) else message.data)
ws.connect()
listener = threading.Thread(target=ws.run, daemon=True)
listener.start()

config = {"name": name, "source": {"type": "image", "alias": alias}, "config": {"limits.processes": "100"}}
c = client.containers.create(config, wait=True)
assert c.status == "Stopped", c.status
c.start(wait=True)
c.sync()
assert c.status == "Running", c.status

result = c.execute(["sh", "-c", "echo out; echo err >&2; exit 3"])
assert result.exit_code == 3, result
assert result.stdout == "out\n", repr(result.stdout)
assert result.stderr == "err\n", repr(result.stderr)
result = c.execute(["cat", "/etc/hostname"])
assert result.exit_code == 0 and result.stdout.strip() == name, result

c.files.put("/root/hello.txt", b"hello from pylxd\n", mode="0640")
assert c.files.get("/root/hello.txt") == b"hello from pylxd\n"
result = c.execute(["stat", "-c", "%a", "/root/hello.txt"])
assert result.stdout.strip() == "640", result
c.files.delete("/root/hello.txt")

c.config["user.note"] = "set by pylxd"
c.save(wait=True)
assert client.containers.get(name).config["user.note"] == "set by pylxd"

c.stop(wait=True)
c.sync()
assert c.status == "Stopped", c.status
c.delete(wait=True)
assert not client.containers.exists(name)

ws.close()
listener.join(5)
actions = " ".join(seen)
for action in ("instance-created", "instance-started", "instance-deleted"):
    assert action in actions, (action, seen)
print("ok")
