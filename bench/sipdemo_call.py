"""Call a number from one of the SIP demo's baresip lines and key digits by hand: `python -m bench.sipdemo_call
<line's control port> <number>`, then type keys (1, 2, #, *) and Enter; an empty line hangs up. What the line heard
is kept as a WAV file in its folder (var/sip/baresip-<number>/heard/)."""

from __future__ import annotations

import sys

from callbacks.voice.control import Control


def main() -> None:
    port, number = int(sys.argv[1]), sys.argv[2]
    line = Control(port, "demo line", on_event=lambda e: print(f"  [{e.get('type')}] {e.get('param', '')}")).connect()
    line.command("dial", f"sip:{number}@127.0.0.1")
    print("Keys, then Enter (an empty line hangs up):")
    for typed in sys.stdin:
        keys = typed.strip()
        if not keys:
            break
        for key in keys:
            line.command("sndcode", key)
    line.command("hangup")
    line.close()


if __name__ == "__main__":
    main()
